/**
 * An informer's list, whole or in pages (`limit`, then `continue` until the last page, as
 * client-go's reflector lists): each page's objects go through the informer's transform before
 * the next page is read, so a large collection is never held whole as JSON. A server that answers
 * the continue token it was given is refused rather than looped on.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import type { InformerOptions } from './informer-types.ts';

type ListOptions<T extends KubernetesObject> = Pick<
  InformerOptions<T>,
  'list' | 'path' | 'labelSelector' | 'fieldSelector' | 'transform' | 'pageSize'
>;

/** A raw list's `metadata.continue` (the token of its next page), if it has one. */
function continueOf(metadata: object | undefined): string | undefined {
  const token: unknown = metadata && 'continue' in metadata ? metadata.continue : undefined;
  return typeof token === 'string' ? token : undefined;
}

/**
 * Every object of the collection (transformed) and the list's resourceVersion; undefined when
 * `stopped()` turned true while a page was on its way.
 */
export async function listAll<T extends KubernetesObject>(
  o: ListOptions<T>,
  stopped: () => boolean,
): Promise<{ objects: T[]; resourceVersion: string } | undefined> {
  const selectors: { labelSelector?: string; fieldSelector?: string } = {};
  if (o.labelSelector !== undefined) selectors.labelSelector = o.labelSelector;
  if (o.fieldSelector !== undefined) selectors.fieldSelector = o.fieldSelector;
  const { transform, pageSize } = o;
  const objects: T[] = [];
  let next: string | undefined;
  let resourceVersion: string;
  do {
    const page =
      pageSize === undefined
        ? selectors
        : { ...selectors, limit: pageSize, ...(next === undefined ? {} : { continue: next }) };
    const result = await o.list(page);
    if (stopped()) return undefined;
    const items: unknown = result.items;
    if (!Array.isArray(items)) {
      throw new IstioLiteError(ErrorCode.External, `list ${o.path}: the response has no items`);
    }
    for (const obj of result.items) objects.push(transform ? transform(obj) : obj);
    // Every page of one list carries the resourceVersion of the list as a whole.
    resourceVersion = result.metadata?.resourceVersion ?? '';
    const token = pageSize === undefined ? undefined : continueOf(result.metadata);
    if (token !== undefined && token !== '' && token === next) {
      throw new IstioLiteError(
        ErrorCode.External,
        `list ${o.path}: the API server answered the same continue token again`,
      );
    }
    next = token === '' ? undefined : token;
  } while (next !== undefined);
  return { objects, resourceVersion };
}

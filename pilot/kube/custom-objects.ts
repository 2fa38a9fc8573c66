/**
 * An informer on one kind of custom object (plain JSON through lib/kube/http.ts, all
 * namespaces) that treats a CRD not installed as "no objects of that kind": it logs that once,
 * counts as synced and empty, and the failing watch keeps relisting (with backoff) until the CRD
 * appears, when the kind is picked up. Pilot serves a mesh whatever CRDs the cluster has.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { isNotFound } from '../../lib/kube/api-errors.ts';
import { ListPageSize, type KubeHttp } from '../../lib/kube/http.ts';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import type { BackoffOptions } from '../../lib/kube/object-store.ts';
import type { Logger } from '../../lib/log.ts';

export type RawObject = KubernetesObject & { spec?: unknown; status?: unknown };

export interface CustomObjectInformerOptions {
  readonly http: KubeHttp;
  readonly logger: Logger;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  /** The informer's name in logs and metrics. */
  readonly name: string;
  readonly backoff?: Partial<BackoffOptions>;
  /** What of each object is kept (lib/kube/informer.ts); default: all but managedFields. */
  readonly transform?: (obj: RawObject) => RawObject;
}

/** An object without `metadata.managedFields` (often most of its bytes, read by nobody here). */
export function withoutManagedFields(obj: RawObject): RawObject {
  const md = obj.metadata;
  if (md?.managedFields === undefined) return obj;
  const rest = Object.fromEntries(
    Object.entries(md).filter(([k]) => k !== 'managedFields'),
  ) as typeof md;
  return { ...obj, metadata: rest };
}

export function customObjectInformer(o: CustomObjectInformerOptions): Informer<RawObject> {
  const { group, version, plural, http } = o;
  const crd = `${plural}.${group}`;
  const path = `/apis/${group}/${version}/${plural}`;
  let missing = false;
  return createInformer<RawObject>({
    watcher: http,
    pageSize: ListPageSize,
    logger: o.logger,
    ...(o.backoff ? { backoff: o.backoff } : {}),
    path,
    transform: o.transform ?? withoutManagedFields,
    list: async (opts) => {
      try {
        const list = await http.list<RawObject>(path, opts);
        if (missing) o.logger.info({ crd }, 'CRD installed; watching it');
        missing = false;
        return list;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        if (!missing) {
          missing = true;
          o.logger.info({ crd }, 'CRD not installed: no objects of this kind until it is');
        }
        return { items: [], metadata: { resourceVersion: '' } };
      }
    },
    name: o.name,
  });
}

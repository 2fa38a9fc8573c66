/**
 * The informer's cache, as pure data: objects keyed by namespace and name, a full list replacing
 * the content (initial list and relist after 410 Gone), and single watch events applied one by
 * one. Each operation returns the changes it made, so the informer emits them and tests read them.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

export type StoreChange<T> =
  | { readonly type: 'add'; readonly obj: T }
  | { readonly type: 'update'; readonly obj: T; readonly old: T }
  | { readonly type: 'delete'; readonly obj: T };

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

function keyOf(obj: KubernetesObject): string {
  return objectKey(obj.metadata?.namespace, obj.metadata?.name ?? '');
}

/** Same resourceVersion means same content: the API server changes it on every write. */
function sameVersion(a: KubernetesObject, b: KubernetesObject): boolean {
  const rv = a.metadata?.resourceVersion;
  return rv !== undefined && rv === b.metadata?.resourceVersion;
}

export class ObjectStore<T extends KubernetesObject> {
  private readonly items = new Map<string, T>();

  get size(): number {
    return this.items.size;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(objectKey(namespace, name));
  }

  list(): T[] {
    return [...this.items.values()];
  }

  /**
   * Replaces the whole content with a full list: objects not seen before are adds, objects with a
   * new resourceVersion are updates, objects missing from the list are deletes (in that order).
   */
  replace(items: readonly T[]): StoreChange<T>[] {
    const changes: StoreChange<T>[] = [];
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.items.get(key);
      this.items.set(key, obj);
      if (old === undefined) changes.push({ type: 'add', obj });
      else if (!sameVersion(old, obj)) changes.push({ type: 'update', obj, old });
    }
    for (const [key, old] of this.items) {
      if (!seen.has(key)) {
        this.items.delete(key);
        changes.push({ type: 'delete', obj: old });
      }
    }
    return changes;
  }

  /** Applies one watch event; undefined when nothing changed (a replayed version, an unknown delete). */
  apply(type: WatchEventType, obj: T): StoreChange<T> | undefined {
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (type === 'DELETED') {
      if (old === undefined) return undefined;
      this.items.delete(key);
      return { type: 'delete', obj };
    }
    if (old !== undefined && sameVersion(old, obj)) return undefined;
    this.items.set(key, obj);
    return old === undefined ? { type: 'add', obj } : { type: 'update', obj, old };
  }
}

export interface BackoffOptions {
  /** The first delay (default 250 ms). */
  readonly initialMs: number;
  /** The cap (default 30 s). */
  readonly maxMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 250, maxMs: 30_000 };

/**
 * Capped exponential backoff with ±20% jitter: attempt 1 waits about `initialMs`, each next attempt
 * twice as long, never more than `maxMs`. `random` is in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: number): number {
  const exp = Math.min(
    options.maxMs,
    options.initialMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)),
  );
  return Math.round(Math.min(options.maxMs, exp * (0.8 + 0.4 * random)));
}

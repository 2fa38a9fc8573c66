/**
 * What an informer (./informer.ts) is given and what it offers: its options (where to list and
 * watch, the transport, a transform, backoff), its handlers and its interface.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import type { KubeList, WatchTransport } from './http.ts';
import type { BackoffOptions } from './object-store.ts';

/** What the informer passes to `list`: hand it to the API call so list and watch select alike. */
export interface InformerListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** A page's size and the token of the next page (only with `pageSize`). */
  readonly limit?: number;
  readonly continue?: string;
}

export interface InformerOptions<T extends KubernetesObject> {
  /**
   * Watches through client-node's Watch with this KubeConfig (loaded when the first watch
   * starts), unless `watcher` is given (lib/kube/http.ts's KubeHttp, without client-node).
   */
  readonly kc?: KubeConfig;
  readonly watcher?: WatchTransport;
  /** The collection's URL path, e.g. `/api/v1/namespaces` or `/api/v1/namespaces/ns/pods`. */
  readonly path: string;
  /** Lists the collection, e.g. `(o) => core.listNamespace(o)` or `(o) => http.list(path, o)`. */
  readonly list: (options: InformerListOptions) => Promise<KubernetesListObject<T> | KubeList<T>>;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * client-node model name of T (`'V1Pod'`). When set, watched objects are deserialized into the
   * same model classes the typed list returns, so cached objects have one shape (Dates, no
   * unknown fields). Leave unset for raw lists (CustomObjectsApi).
   */
  readonly objectType?: string;
  /**
   * Keeps only what the caller needs of each object before it is cached (list and watch alike),
   * like client-go's SetTransform: an informer on every pod need not hold whole pods. The result
   * must keep metadata.name, namespace and resourceVersion.
   */
  readonly transform?: (obj: T) => T;
  /**
   * Lists in pages of this many objects (`limit`, then `continue` until the last page), each page
   * transformed before the next is read, as client-go's reflector lists (500 a page): a large
   * collection is never held whole as JSON. Only for a `list` that honours both (lib/kube/http.ts).
   */
  readonly pageSize?: number;
  readonly logger: Logger;
  /** Names the informer in logs (`namespaces`, `pilot-services`). */
  readonly name: string;
  readonly backoff?: Partial<BackoffOptions>;
}

export interface InformerHandlers<T> {
  add: (obj: T) => void;
  update: (obj: T, old: T) => void;
  delete: (obj: T) => void;
}

export type InformerEvent = keyof InformerHandlers<unknown>;

export interface Informer<T extends KubernetesObject> {
  /** Starts listing and watching (once; later calls do nothing). */
  start(): void;
  /** Stops the watch and any pending retry; resolves when no handler can run any more. */
  stop(): Promise<void>;
  /** Resolves after the first full list has been cached and its add events emitted. */
  synced(): Promise<void>;
  hasSynced(): boolean;
  /** Every cached object (a new array). */
  list(): T[];
  /** A cached object; namespace '' or undefined for cluster-scoped objects. */
  get(namespace: string | undefined, name: string): T | undefined;
  /** Registers a handler; returns a function that removes it. */
  on<E extends InformerEvent>(event: E, handler: InformerHandlers<T>[E]): () => void;
}

/**
 * A typed informer: list, then watch from the list's resourceVersion, keeping a cache and emitting
 * add/update/delete. Unlike client-node's informer (which stops and only emits `error` on any watch
 * error other than 410), this one never gives up: every failed list or watch is logged as a JSON
 * line and retried with capped exponential backoff, resuming from the last resourceVersion seen
 * (so changes made while the watch was down arrive as events) and relisting on 410 Gone (so deletes
 * missed meanwhile arrive as delete events).
 *
 * Transport is client-node's `Watch` (auth, TLS and proxies from the KubeConfig; loaded when the
 * first watch starts), or a `watcher` (lib/kube/http.ts's KubeHttp) that needs no client-node.
 * Contracts: handlers run synchronously in event order and must not modify the objects they get;
 * an exception in a handler is logged and does not stop the informer. An informer is started once;
 * after `stop()` resolves no handler runs again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { apiErrorCode, describeApiError, isRetryLater } from './api-errors.ts';
import type { WatchTransport } from './http.ts';
import { listAll } from './list-pages.ts';
import type {
  Informer,
  InformerEvent,
  InformerHandlers,
  InformerOptions,
} from './informer-types.ts';
import {
  ObjectStore,
  backoffDelay,
  defaultBackoff,
  type BackoffOptions,
  type StoreChange,
  type WatchEventType,
} from './object-store.ts';

export type {
  Informer,
  InformerEvent,
  InformerHandlers,
  InformerListOptions,
  InformerOptions,
} from './informer-types.ts';

/** A watch that lived this long, or delivered an event, was healthy: its end resets the backoff. */
const healthyWatchMs = 1000;
/** Attempts a server may answer 429 or 503 before the informer warns about it. */
const quietRetries = 5;

export function createInformer<T extends KubernetesObject>(
  options: InformerOptions<T>,
): Informer<T> {
  return new ResilientInformer(options);
}

interface WatchEnd {
  readonly err: unknown;
  readonly events: number;
  readonly durationMs: number;
  readonly gone: boolean;
}

class ResilientInformer<T extends KubernetesObject> implements Informer<T> {
  private readonly opts: InformerOptions<T>;
  private readonly backoff: BackoffOptions;
  private readonly store = new ObjectStore<T>();
  private readonly handlers: { [E in InformerEvent]: InformerHandlers<T>[E][] } = {
    add: [],
    update: [],
    delete: [],
  };
  private readonly abort = new AbortController();
  private watcher: WatchTransport | undefined;
  /** client-node's model deserializer, loaded before the first list when `objectType` is set. */
  private deserialize: ((raw: unknown, type: string) => unknown) | undefined;
  private readonly log: Logger;
  private readonly syncedPromise: Promise<void>;
  private resolveSynced: () => void = () => undefined;
  private rejectSynced: (e: unknown) => void = () => undefined;
  private isSynced = false;
  private resourceVersion = '';
  private request: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(options: InformerOptions<T>) {
    this.opts = options;
    this.backoff = { ...defaultBackoff, ...options.backoff };
    if (options.watcher === undefined && options.kc === undefined) {
      throw new IstioLiteError(
        ErrorCode.Internal,
        `informer ${options.name}: kc or watcher needed`,
      );
    }
    this.watcher = options.watcher;
    this.log = options.logger.child({ informer: options.name, path: options.path });
    this.syncedPromise = new Promise<void>((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    // Nobody may be waiting for sync when the informer is stopped; that rejection is not a crash.
    this.syncedPromise.catch(() => undefined);
  }

  start(): void {
    if (this.loop !== undefined || this.abort.signal.aborted) return;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.abort.signal.aborted) {
      this.abort.abort();
      this.request?.abort();
      if (!this.isSynced) {
        this.rejectSynced(
          new IstioLiteError(
            ErrorCode.Internal,
            `informer ${this.opts.name} stopped before its first list`,
          ),
        );
      }
    }
    await this.loop;
  }

  synced(): Promise<void> {
    return this.syncedPromise;
  }

  hasSynced(): boolean {
    return this.isSynced;
  }

  list(): T[] {
    return this.store.list();
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespace, name);
  }

  on<E extends InformerEvent>(event: E, handler: InformerHandlers<T>[E]): () => void {
    const list: InformerHandlers<T>[E][] = this.handlers[event];
    list.push(handler);
    return () => {
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** A method, not a field read, so TypeScript does not narrow it across awaits. */
  private isStopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.isStopped()) {
      let end: WatchEnd;
      try {
        await this.clientNode();
        if (this.resourceVersion === '') await this.relist();
        if (this.isStopped()) return;
        end = await this.watchOnce(failures);
      } catch (e) {
        end = { err: e, events: 0, durationMs: 0, gone: apiErrorCode(e) === 410 };
      }
      if (this.isStopped()) return;
      const healthy = end.events > 0 || end.durationMs >= healthyWatchMs;
      if (healthy) failures = 0;
      if (end.gone) {
        this.log.info(
          { resourceVersion: this.resourceVersion },
          'resource version expired; relisting',
        );
        this.resourceVersion = '';
      }
      const timedOut = end.err instanceof Error && end.err.name === 'TimeoutError';
      const failed =
        (end.err !== null && end.err !== undefined && !timedOut && !end.gone) || !healthy;
      if (!failed) {
        this.log.debug(
          { durationMs: end.durationMs, events: end.events, err: describeError(end.err) },
          'watch ended; reconnecting',
        );
        continue;
      }
      failures++;
      const delayMs = backoffDelay(failures, this.backoff, Math.random());
      // A server that asks to come back later (a new CRD's storage initialising, overload) is
      // normal for a few attempts; it is worth a warning only when it lasts.
      const expected = isRetryLater(end.err) && failures <= quietRetries;
      this.log[expected ? 'info' : 'warn'](
        {
          attempt: failures,
          delayMs,
          err: describeError(end.err),
        },
        'watch failed; restarting',
      );
      try {
        await sleep(delayMs, undefined, { signal: this.abort.signal });
      } catch {
        return; // stopped while waiting
      }
    }
  }

  /** client-node's Watch and deserializer, loaded only by informers that use them. */
  private async clientNode(): Promise<WatchTransport> {
    if (this.opts.objectType !== undefined && this.deserialize === undefined) {
      // Not re-exported from the package root; the typed APIs use it to build their model classes.
      const { ObjectSerializer } = await import('@kubernetes/client-node/dist/serializer.js');
      this.deserialize = (raw, type) => ObjectSerializer.deserialize(raw, type) as unknown;
    }
    if (this.watcher) return this.watcher;
    const { Watch } = await import('@kubernetes/client-node');
    const kc = this.opts.kc;
    if (kc === undefined) throw new IstioLiteError(ErrorCode.Internal, 'informer without kc');
    const w = new Watch(kc);
    this.watcher = {
      watch: (path, params, onEvent, done) =>
        w.watch(
          path,
          params,
          (type: string, obj: unknown) => {
            onEvent(type, obj);
          },
          done,
        ),
    };
    return this.watcher;
  }

  private async relist(): Promise<void> {
    const listed = await listAll(this.opts, () => this.isStopped());
    if (listed === undefined) return;
    this.emit(this.store.replace(listed.objects));
    this.resourceVersion = listed.resourceVersion;
    if (!this.isSynced) {
      this.isSynced = true;
      this.log.debug({ objects: this.store.size }, 'synced');
      this.resolveSynced();
    }
  }

  /** One watch request, from the current resourceVersion; resolves when it ends for any reason. */
  private async watchOnce(failures: number): Promise<WatchEnd> {
    const started = Date.now();
    // Mutated by the callbacks; an object so TypeScript does not narrow the fields.
    const seen = { events: 0, gone: false };
    let finish: (err: unknown) => void = () => undefined;
    const ended = new Promise<unknown>((resolve) => {
      finish = resolve;
    });
    const params: Record<string, string | boolean> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
    };
    if (this.opts.labelSelector !== undefined) params['labelSelector'] = this.opts.labelSelector;
    if (this.opts.fieldSelector !== undefined) params['fieldSelector'] = this.opts.fieldSelector;
    const onEvent = (phase: string, raw: unknown): void => {
      if (this.isStopped()) return;
      seen.events++;
      if (phase === 'ERROR') {
        const code = (raw as { code?: unknown } | null)?.code;
        if (code === 410) seen.gone = true;
        else this.log.warn({ status: raw }, 'watch error event');
        return;
      }
      const rv = resourceVersionOf(raw);
      if (phase === 'BOOKMARK') {
        if (rv !== undefined) this.resourceVersion = rv;
        return;
      }
      if (phase !== 'ADDED' && phase !== 'MODIFIED' && phase !== 'DELETED') return;
      if (!isObjectWithName(raw)) {
        this.log.warn({ phase }, 'watch event without metadata.name; ignored');
        return;
      }
      const obj = this.decode(raw);
      const change = this.store.apply(phase satisfies WatchEventType, obj);
      if (change !== undefined) this.emit([change]);
      if (rv !== undefined) this.resourceVersion = rv;
    };
    const watcher = await this.clientNode();
    const request = await watcher.watch(this.opts.path, params, onEvent, finish);
    // The Watch aborts its controller when the request ends, so not aborted means connected.
    if (!request.signal.aborted) {
      this.request = request;
      if (this.isStopped()) request.abort();
      else if (failures > 0) this.log.info({ attempts: failures }, 'watch recovered');
    }
    const err = await ended;
    this.request = undefined;
    return {
      err,
      events: seen.events,
      durationMs: Date.now() - started,
      gone: seen.gone || apiErrorCode(err) === 410,
    };
  }

  private decode(raw: KubernetesObject): T {
    const type = this.opts.objectType;
    const obj: unknown =
      type === undefined || this.deserialize === undefined ? raw : this.deserialize(raw, type);
    return this.opts.transform ? this.opts.transform(obj as T) : (obj as T);
  }

  private emit(changes: readonly StoreChange<T>[]): void {
    for (const c of changes) {
      // Copies: a handler may remove itself while the list is being walked.
      switch (c.type) {
        case 'add':
          for (const h of [...this.handlers.add])
            this.call(c.type, () => {
              h(c.obj);
            });
          break;
        case 'update':
          for (const h of [...this.handlers.update])
            this.call(c.type, () => {
              h(c.obj, c.old);
            });
          break;
        case 'delete':
          for (const h of [...this.handlers.delete])
            this.call(c.type, () => {
              h(c.obj);
            });
          break;
      }
    }
  }

  private call(event: InformerEvent, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error({ event, err: errorMessage(e) }, 'informer handler threw');
    }
  }
}

/** The message of a watch or list failure, with its cause (fetch says only "fetch failed"). */
function describeError(e: unknown): string {
  if (e === null || e === undefined) return 'closed by the server';
  const msg = describeApiError(e);
  const cause: unknown = e instanceof Error ? e.cause : undefined;
  if (cause === undefined || cause === null) return msg;
  const code = typeof cause === 'object' && 'code' in cause ? String(cause.code) : '';
  return `${msg}: ${code !== '' ? `${code} ` : ''}${errorMessage(cause)}`;
}

function isObjectWithName(v: unknown): v is KubernetesObject {
  if (typeof v !== 'object' || v === null) return false;
  const md = (v as { metadata?: unknown }).metadata;
  return (
    typeof md === 'object' && md !== null && typeof (md as { name?: unknown }).name === 'string'
  );
}

function resourceVersionOf(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const md = (v as { metadata?: unknown }).metadata;
  if (typeof md !== 'object' || md === null) return undefined;
  const rv = (md as { resourceVersion?: unknown }).resourceVersion;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

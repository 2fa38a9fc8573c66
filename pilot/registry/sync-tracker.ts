/**
 * What every registry that reads a server over the network shares: how it is doing (the
 * RegistryStatus behind /debug/registryz, /ready and the metrics), retrying with a capped backoff,
 * and log lines a person can act on: one warning when the server goes down (or starts failing
 * differently), one line when it is back. Meanwhile the registry keeps its last good view.
 */
import { errorMessage } from '../../lib/errors.ts';
import { backoffDelay } from '../../lib/kube/object-store.ts';
import type { Logger } from '../../lib/log.ts';
import type { RegistryStatus } from '../model/service.ts';

export interface RetryOptions {
  /** The first wait after a failure (default 500 ms). */
  readonly initialMs: number;
  /** The cap: a down server is tried at least this often (default 30 s). */
  readonly maxMs: number;
}

export const defaultRetry: RetryOptions = { initialMs: 500, maxMs: 30_000 };

/** Capped exponential backoff with jitter, for one request loop. */
export class Backoff {
  private attempt = 0;
  private readonly o: RetryOptions;

  constructor(o: RetryOptions) {
    this.o = o;
  }

  /** The wait before the next try after one more failure. */
  next(): number {
    this.attempt++;
    return backoffDelay(this.attempt, this.o, Math.random());
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Whether a loop was told to stop (a function: TypeScript would narrow a property read). */
export function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/**
 * Waits that end early on stop (the signal) or when `wakeAll()` is called: a registry whose server
 * came back wakes its other request loops rather than leaving them to their backoff.
 */
export class Waker {
  private readonly waiters = new Set<() => void>();

  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      this.waiters.add(done);
    });
  }

  wakeAll(): void {
    for (const w of [...this.waiters]) w();
  }
}

export class SyncTracker {
  readonly name: string;
  readonly source: string;
  private readonly log: Logger;
  private synced = false;
  private lastSyncMs: number | undefined;
  private lastError: string | undefined;
  private lastErrorMs: number | undefined;
  private downSinceMs: number | undefined;
  private services = 0;
  /** The loops whose last request failed, with their error. */
  private readonly failing = new Map<string, string>();

  constructor(name: string, source: string, logger: Logger) {
    this.name = name;
    this.source = source;
    this.log = logger;
  }

  get isDown(): boolean {
    return this.downSinceMs !== undefined;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /**
   * A request of the loop `loop` ('' for the registry's main one) succeeded. Returns true when
   * this ends an outage (no loop is failing any more).
   */
  ok(loop = '', now = Date.now()): boolean {
    this.lastSyncMs = now;
    if (!this.failing.delete(loop) || this.failing.size > 0) return false;
    return this.recovered(now);
  }

  /** A loop that no longer runs (its service left the catalog) is not failing any more. */
  forget(loop: string, now = Date.now()): void {
    if (this.failing.delete(loop) && this.failing.size === 0) this.recovered(now);
  }

  private recovered(now: number): boolean {
    const down = this.downSinceMs;
    if (down === undefined) return false;
    this.downSinceMs = undefined;
    this.log.info(
      { registry: this.name, source: this.source, downMs: now - down },
      `${this.name} registry is back after ${String(Math.round((now - down) / 1000))} s`,
    );
    return true;
  }

  /** The first complete view is in: from now on, an outage keeps serving it. */
  firstSync(services: number): void {
    this.services = services;
    if (this.synced) return;
    this.synced = true;
    this.log.info({ registry: this.name, source: this.source, services }, 'registry synced');
  }

  /** The view now holds this many services. */
  setServices(n: number): void {
    this.services = n;
  }

  /**
   * A request of the loop `loop` failed; `retryMs` is when it tries again. Logs one warning when
   * the registry goes down (a Consul outage fails every service's loop at once: one warning, not
   * one per service), a line when its main loop then fails in another way (refused, then garbage),
   * and the rest at debug level.
   */
  failed(e: unknown, retryMs: number, loop = '', now = Date.now()): void {
    const message = errorMessage(e);
    const wentDown = this.downSinceMs === undefined;
    const before = this.failing.get(loop);
    const changed = !wentDown && loop === '' && before !== message;
    this.failing.set(loop, message);
    this.downSinceMs ??= now;
    this.lastError = message;
    this.lastErrorMs = now;
    const fields = {
      registry: this.name,
      source: this.source,
      err: message,
      retryInMs: retryMs,
      services: this.services,
    };
    if (changed) {
      this.log.info(fields, `${this.name} registry still failing, now with another error`);
      return;
    }
    if (!wentDown) {
      this.log.debug(fields, 'registry still failing');
      return;
    }
    this.log.warn(
      fields,
      this.synced
        ? `${this.name} registry failing: serving its last good view (${String(this.services)} service(s)) and retrying`
        : `${this.name} registry failing before its first sync: retrying`,
    );
  }

  /** Why the registry has no complete view yet, or undefined once it has one. */
  notSynced(): string | undefined {
    if (this.synced) return undefined;
    const why = this.lastError === undefined ? 'waiting for the first answer' : this.lastError;
    return `${this.name} registry not synced yet: ${why}`;
  }

  status(): RegistryStatus {
    return {
      name: this.name,
      source: this.source,
      state: this.downSinceMs !== undefined ? 'down' : this.synced ? 'synced' : 'syncing',
      lastSyncMs: this.lastSyncMs,
      lastError: this.lastError,
      lastErrorMs: this.lastErrorMs,
      downSinceMs: this.downSinceMs,
      services: this.services,
    };
  }
}

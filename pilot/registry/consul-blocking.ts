/**
 * The Consul registry's reads (./consul.ts): Consul's blocking queries, a pace that keeps a
 * server answering at once without a newer index from becoming a hot loop, and the kick that
 * wakes the sync loop when a query answered.
 */
import type { Agent } from 'node:http';
import { consulIndex } from './consul-wire.ts';
import { getJson } from './http.ts';
import type { Waker } from './sync-tracker.ts';

export interface ConsulReaderOptions {
  /** The registry's name, in errors. */
  readonly name: string;
  /** The API without a trailing slash. */
  readonly url: string;
  readonly waitMs: number;
  readonly timeoutMs: number;
  readonly agent: Agent;
  readonly waker: Waker;
}

export interface ConsulAnswer {
  readonly body: unknown;
  /** The registry and URL, for messages. */
  readonly what: string;
  /** The answer's X-Consul-Index. */
  readonly got: number;
  readonly tookMs: number;
}

export class ConsulReader {
  private readonly o: ConsulReaderOptions;

  constructor(o: ConsulReaderOptions) {
    this.o = o;
  }

  /** A blocking read: answers at once with index 0, else when something changed or after `wait`. */
  async read(path: string, index: number, signal: AbortSignal): Promise<ConsulAnswer> {
    const { url: base, waitMs } = this.o;
    const sep = path.includes('?') ? '&' : '?';
    const url =
      index > 0
        ? `${base}${path}${sep}index=${String(index)}&wait=${String(Math.ceil(waitMs / 1000))}s`
        : `${base}${path}`;
    // Consul may wait up to wait + wait/16 before answering.
    const timeoutMs = index > 0 ? waitMs + waitMs / 16 + this.o.timeoutMs : this.o.timeoutMs;
    const started = Date.now();
    const res = await getJson(url, {
      registry: this.o.name,
      timeoutMs,
      signal,
      agent: this.o.agent,
    });
    const what = `${this.o.name} ${url}`;
    const got = consulIndex(res.headers.get('x-consul-index'), what);
    return { body: res.body, what, got, tookMs: Date.now() - started };
  }

  /**
   * Waits before the next blocking read when a server answered at once without a newer index (a
   * real Consul would have waited): never a hot loop against something that is not quite Consul.
   */
  async pace(asked: number, got: number, tookMs: number, signal: AbortSignal): Promise<void> {
    if (asked > 0 && got === asked && tookMs < 1000) {
      await this.o.waker.wait(1000 - tookMs, signal);
    }
  }
}

/** Wakes a loop waiting for work; kicks while it works are kept as one. */
export class Kick {
  private pending = false;
  private wake: (() => void) | undefined;

  kick(): void {
    this.pending = true;
    this.wake?.();
  }

  async next(signal: AbortSignal): Promise<void> {
    while (!this.pending && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done);
      });
    }
    this.pending = false;
  }
}

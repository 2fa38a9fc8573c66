/**
 * A keyed work queue for controllers (client-go's workqueue, small): a key queued many times is
 * processed once; a key is never processed by two workers at once (queued again meanwhile, it runs
 * again after); failures retry with capped exponential backoff; `after(key, ms)` schedules a
 * later run (renewals). Contract: `process` must be idempotent; it reads the world fresh each time.
 */
export interface WorkQueueOptions {
  readonly process: (key: string) => Promise<void>;
  readonly concurrency?: number;
  readonly onError?: (key: string, err: unknown, attempt: number) => void;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Collect keys but process none until `resume()` (wait for caches to sync). */
  readonly paused?: boolean;
}

/** setTimeout's limit; longer delays are re-armed when they fire. */
const maxTimerMs = 2_147_000_000;

export class WorkQueue {
  private readonly opts: Required<Omit<WorkQueueOptions, 'onError' | 'paused'>> &
    Pick<WorkQueueOptions, 'onError'>;
  private paused: boolean;
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions) {
    this.opts = {
      process: opts.process,
      concurrency: opts.concurrency ?? 4,
      baseDelayMs: opts.baseDelayMs ?? 200,
      maxDelayMs: opts.maxDelayMs ?? 60_000,
      ...(opts.onError ? { onError: opts.onError } : {}),
    };
    this.paused = opts.paused ?? false;
  }

  /** Starts processing (a queue created paused). */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Runs `key` after `ms` (an earlier schedule for the same key wins). */
  after(key: string, ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + Math.max(0, ms);
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const arm = (): NodeJS.Timeout =>
      setTimeout(
        () => {
          const left = at - Date.now();
          if (left > 0) {
            this.timers.set(key, { timer: arm(), at });
            return;
          }
          this.timers.delete(key);
          this.add(key);
        },
        Math.min(Math.max(0, at - Date.now()), maxTimerMs),
      );
    this.timers.set(key, { timer: arm(), at });
  }

  /** Forgets a key's schedule and failures (its object is gone). */
  forget(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t.timer);
    this.timers.delete(key);
    this.failures.delete(key);
  }

  get size(): number {
    return this.queue.length + this.running;
  }

  /** Resolves when nothing is queued or running (scheduled timers do not count). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops queued work and timers; resolves when running work has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    await this.idle();
  }

  private pump(): void {
    while (
      !this.stopped &&
      !this.paused &&
      this.running < this.opts.concurrency &&
      this.queue.length > 0
    ) {
      const key = this.queue.shift();
      if (key === undefined) break;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      void this.run(key);
    }
    if (this.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.opts.process(key);
      this.failures.delete(key);
    } catch (e) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.opts.onError?.(key, e, attempt);
      const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
      this.after(key, delay * (0.5 + Math.random() / 2));
    } finally {
      this.active.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}

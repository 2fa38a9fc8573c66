/**
 * The one way a service starts and stops. `run` registers each resource on a Lifecycle as soon as
 * it is started (informers, servers, timers); `close()` stops them once, in reverse order, each
 * step bounded by a timeout, and every later call returns the same promise. When a start step
 * fails, `start` stops what was already started before the error reaches the caller, so a failed
 * start leaves nothing running (a port already taken ends the process instead of a process that
 * serves nothing).
 *
 *   export function runThing(config: ThingConfig, logger: Logger): Promise<RunningThing> {
 *     return Lifecycle.start(logger, async (life) => {
 *       const informer = life.add('informer', startInformer(), (i) => i.stop());
 *       // A server is registered before it binds: a failed bind still stops it.
 *       const server = life.add('gRPC server', new ThingServer(), (s) => s.close());
 *       const port = await server.listen(config.host, config.port);
 *       return { port };
 *     });
 *   }
 *
 * A service's CLI command hands `runThing` to cli/serve.ts, which waits for SIGTERM or SIGINT and
 * then calls `close()`.
 */
import type { Logger } from './log.ts';

export type StopStep = () => unknown;

/** What a started service hands back: its own fields plus one idempotent `close()`. */
export type Running<T> = T & { close(): Promise<void> };

export class Lifecycle {
  private readonly steps: { readonly name: string; readonly stop: StopStep }[] = [];
  private closing: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly timeoutMs: number;

  constructor(logger: Logger, timeoutMs = 30_000) {
    this.logger = logger;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Runs `body` with a new Lifecycle and returns what it returns plus `close()`. If `body` throws,
   * everything it registered is stopped (in reverse order) before the error is rethrown.
   */
  static async start<T extends object>(
    logger: Logger,
    body: (life: Lifecycle) => Promise<T>,
    timeoutMs?: number,
  ): Promise<Running<T>> {
    const life = new Lifecycle(logger, timeoutMs);
    try {
      const value = await body(life);
      return Object.assign(value, { close: () => life.close() });
    } catch (e) {
      await life.close();
      throw e;
    }
  }

  /** Registers a started resource and returns it: `const w = life.add('watch', start(), (w) => w.stop())`. */
  add<R>(name: string, resource: R, stop: (r: R) => unknown): R {
    if (this.closing !== undefined) {
      // Started after close() began (a start racing a shutdown): stop it now, never leak it.
      void Promise.resolve()
        .then(() => stop(resource))
        .catch(() => undefined);
      return resource;
    }
    this.steps.push({ name, stop: () => stop(resource) });
    return resource;
  }

  /** Registers a stop step with no resource of its own (flush a buffer, remove a file). */
  onStop(name: string, stop: StopStep): void {
    this.add(name, undefined, stop);
  }

  /** Stops everything once, newest first; every call returns the same promise. */
  close(): Promise<void> {
    this.closing ??= this.stopAll();
    return this.closing;
  }

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  private async stopAll(): Promise<void> {
    // A copy: the registration order stays as it was, whatever happens to the steps.
    for (const step of [...this.steps].reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(step.stop),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              reject(new Error(`timed out after ${String(this.timeoutMs)} ms`));
            }, this.timeoutMs);
          }),
        ]);
      } catch (e) {
        this.logger.error({ step: step.name, err: e }, 'stop step failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

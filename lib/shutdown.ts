/**
 * Graceful shutdown: on SIGTERM or SIGINT, run the registered steps in reverse order of
 * registration (stop accepting, drain, flush, close watches), each bounded by a timeout, then exit.
 * A second signal exits at once.
 */
import type { Logger } from './log.ts';

export type ShutdownStep = () => Promise<void> | void;

export class Shutdown {
  private readonly steps: { name: string; run: ShutdownStep }[] = [];
  private running: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly timeoutMs: number;

  constructor(logger: Logger, timeoutMs = 30_000) {
    this.logger = logger;
    this.timeoutMs = timeoutMs;
  }

  add(name: string, run: ShutdownStep): void {
    this.steps.push({ name, run });
  }

  /** Runs every step once (later calls return the same promise). */
  run(reason: string): Promise<void> {
    this.running ??= this.runSteps(reason);
    return this.running;
  }

  private async runSteps(reason: string): Promise<void> {
    this.logger.info({ reason }, 'shutting down');
    for (const step of [...this.steps].reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(step.run),
          new Promise<void>((_, reject) => {
            timer = setTimeout(() => {
              reject(new Error(`timed out after ${this.timeoutMs} ms`));
            }, this.timeoutMs);
          }),
        ]);
      } catch (e) {
        this.logger.error({ step: step.name, err: e }, 'shutdown step failed');
      } finally {
        clearTimeout(timer);
      }
    }
    this.logger.info('shutdown complete');
  }

  /** Installs SIGTERM/SIGINT handlers that run the steps and exit. */
  installSignalHandlers(exit: (code: number) => void = (c) => process.exit(c)): void {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) exit(1);
      void this.run(sig).then(() => {
        exit(0);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
}

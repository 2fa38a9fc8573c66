/**
 * Long-running commands (the servers): start the service, wait for SIGTERM or SIGINT, stop it
 * once. A service that fails to start has already stopped what it began (lib/lifecycle.ts), so
 * the error ends the process with a non-zero code and nothing left running.
 */
import type { Logger } from '../lib/log.ts';

/** The first SIGTERM or SIGINT from now on; `cancel` stops listening. */
export function signalWatch(): { readonly signal: Promise<NodeJS.Signals>; cancel(): void } {
  let on: (s: NodeJS.Signals) => void = () => undefined;
  const cancel = () => {
    process.off('SIGTERM', on);
    process.off('SIGINT', on);
  };
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    on = (s) => {
      cancel();
      resolve(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
  return { signal, cancel };
}

/** Resolves when the process gets SIGTERM or SIGINT. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return signalWatch().signal;
}

/**
 * Runs a started service until a signal, then closes it; resolves to the exit code. The signal
 * handlers are in place before the service starts: a SIGTERM during a slow start (informers
 * syncing, a port being bound) waits for the start to finish, then closes what it started,
 * instead of killing the process half way.
 */
export async function serve(
  logger: Logger,
  start: () => Promise<{ close(): Promise<void> }>,
): Promise<number> {
  const watch = signalWatch();
  let running: { close(): Promise<void> };
  try {
    running = await start();
  } catch (e) {
    watch.cancel();
    throw e;
  }
  const signal = await watch.signal;
  logger.info({ signal }, 'shutting down');
  await running.close();
  logger.info('shutdown complete');
  return 0;
}

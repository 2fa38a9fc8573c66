/**
 * Long-running commands (the servers): start the service, wait for SIGTERM or SIGINT, stop it
 * once. A service that fails to start has already stopped what it began (lib/lifecycle.ts), so
 * the error ends the process with a non-zero code and nothing left running.
 */
import type { Logger } from '../lib/log.ts';

/** Resolves when the process gets SIGTERM or SIGINT. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/** Runs a started service until a signal, then closes it; resolves to the exit code. */
export async function serve(
  logger: Logger,
  start: () => Promise<{ close(): Promise<void> }>,
): Promise<number> {
  const running = await start();
  const signal = await untilSignal();
  logger.info({ signal }, 'shutting down');
  await running.close();
  logger.info('shutdown complete');
  return 0;
}

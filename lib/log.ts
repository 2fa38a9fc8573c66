/**
 * JSON line logs (pino) for every server and command. One logger per process, children per
 * component; level from LOG_LEVEL (default info).
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(
  component: string,
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  const level = options.level ?? process.env['LOG_LEVEL'] ?? 'info';
  const base = { component };
  return options.destination
    ? pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, options.destination)
    : pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime });
}

/**
 * A destination for a server that logs a line per request (the webhook): lines gather and are
 * written together once 4 KiB wait or every 100 ms, and whatever waits is written on exit. Pino's
 * default writes each line on its own through libuv's thread pool, about 50 µs of CPU a line on a
 * busy core; this is a write every few dozen lines. `fd` is standard output unless given.
 */
export function batchedDestination(fd = 1): DestinationStream {
  return pino.destination({ dest: fd, sync: false, minLength: 4096, periodicFlush: 100 });
}

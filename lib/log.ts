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

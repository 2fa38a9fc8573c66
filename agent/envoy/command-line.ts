/**
 * Envoy's command line, from the agent's flags: the bootstrap file, drain and parent-shutdown
 * times, worker threads and log level. Hot restart is off (the agent restarts Envoy itself and
 * configuration changes arrive over xDS, never by a new bootstrap).
 */
import type { AgentConfig } from '../settings.ts';

export function envoyArgs(
  c: Pick<
    AgentConfig,
    'bootstrapPath' | 'drainMs' | 'parentShutdownMs' | 'concurrency' | 'proxyLogLevel'
  >,
): string[] {
  return [
    '-c',
    c.bootstrapPath,
    '--drain-time-s',
    String(Math.ceil(c.drainMs / 1000)),
    '--drain-strategy',
    'immediate',
    '--parent-shutdown-time-s',
    String(Math.ceil(c.parentShutdownMs / 1000)),
    '--local-address-ip-version',
    'v4',
    '--disable-hot-restart',
    '--concurrency',
    String(c.concurrency),
    '--log-level',
    c.proxyLogLevel,
    '--log-format',
    '{"time":"%Y-%m-%dT%T.%eZ","level":"%l","component":"envoy","logger":"%n","msg":"%j"}',
  ];
}

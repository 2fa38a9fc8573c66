/**
 * Pilot watching a test cluster with the default mesh config, on loopback (HTTP on a free port;
 * xDS on `xdsPort`, 0 picks one), pushing 20 ms after a change (200 ms at most).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { runPilot, type PilotOptions, type RunningPilot } from '../../pilot/run.ts';

export function startKubePilot(
  kc: KubeConfig,
  xdsPort = 0,
  more: Partial<PilotOptions> = {},
): Promise<RunningPilot> {
  return runPilot({
    logger: pino({ level: process.env['LOG_LEVEL'] ?? 'silent' }),
    mesh: defaultMeshConfig,
    kc,
    xdsHost: '127.0.0.1',
    xdsPort,
    httpHost: '127.0.0.1',
    httpPort: 0,
    debounceMs: 20,
    debounceMaxMs: 200,
    domain: 'cluster.local',
    ...more,
  });
}

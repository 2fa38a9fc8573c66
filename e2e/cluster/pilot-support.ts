/**
 * Pilot watching a test cluster with the default mesh config, on loopback (HTTP on a free port;
 * xDS on `xdsPort`, 0 picks one), pushing 20 ms after a change (200 ms at most).
 */
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { eventually } from './eventually.ts';
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

/** Waits until Pilot's /ready answers 200 (its registries synced, a first snapshot built). */
export async function pilotReady(pilot: RunningPilot): Promise<void> {
  await eventually(async () => {
    const r = await fetch(`http://127.0.0.1:${String(pilot.httpPort)}/ready`);
    assert.equal(r.status, 200, await r.text());
  });
}

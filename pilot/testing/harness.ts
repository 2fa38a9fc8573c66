/** Starts the discovery service and ADS server on loopback port 0, for tests and the bench. */
import { pino } from 'pino';
import { defaultMeshConfig, type MeshConfig } from '../../lib/mesh-config.ts';
import { createRegistry, type Registry } from '../../lib/metrics.ts';
import type { ConfigSource } from '../config/model.ts';
import type { ServiceRegistry } from '../model/service.ts';
import { AdsServer } from '../xds/ads-server.ts';
import { DiscoveryServer } from '../xds/discovery.ts';
import { createXdsMetrics } from '../xds/metrics.ts';

export interface Harness {
  readonly discovery: DiscoveryServer;
  readonly address: string;
  readonly metrics: Registry;
  close(): Promise<void>;
}

export async function startHarness(o: {
  registry: ServiceRegistry;
  config?: ConfigSource;
  mesh?: MeshConfig;
  debounceMs?: number;
  debounceMaxMs?: number;
  ackTimeoutMs?: number;
}): Promise<Harness> {
  const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
  const metrics = createRegistry('pilot', false);
  const discovery = new DiscoveryServer({
    registry: o.registry,
    ...(o.config ? { config: o.config } : {}),
    mesh: o.mesh ?? defaultMeshConfig,
    logger,
    metrics: createXdsMetrics(metrics),
    debounceMs: o.debounceMs ?? 10,
    debounceMaxMs: o.debounceMaxMs ?? 100,
    ackTimeoutMs: o.ackTimeoutMs ?? 5000,
  });
  discovery.start();
  const ads = new AdsServer({ discovery, logger });
  const port = await ads.listen('127.0.0.1', 0);
  return {
    discovery,
    address: `127.0.0.1:${port}`,
    metrics,
    async close() {
      await ads.close();
      discovery.stop();
    },
  };
}

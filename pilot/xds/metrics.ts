/** Pilot's Prometheus metrics (names after istiod's where one exists). */
import { Counter, Gauge, Histogram, type Registry } from '../../lib/metrics.ts';

export interface XdsMetrics {
  readonly pushes: Counter<'type'>;
  readonly pushBytes: Counter<'type'>;
  readonly nacks: Counter<'type'>;
  readonly staleNonces: Counter<'type'>;
  readonly connected: Gauge;
  readonly convergence: Histogram<'type'>;
  readonly buildTime: Histogram;
  readonly pushTime: Histogram;
  readonly inconsistent: Counter;
  readonly builds: Counter;
}

export function createXdsMetrics(registry: Registry): XdsMetrics {
  const registers = [registry];
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    pushes: new Counter({
      name: 'pilot_xds_pushes_total',
      help: 'DiscoveryResponses sent, by type',
      labelNames: ['type'],
      registers,
    }),
    pushBytes: new Counter({
      name: 'pilot_xds_push_bytes_total',
      help: 'Bytes of DiscoveryResponses sent, by type',
      labelNames: ['type'],
      registers,
    }),
    nacks: new Counter({
      name: 'pilot_xds_nacks_total',
      help: 'Responses rejected by proxies, by type',
      labelNames: ['type'],
      registers,
    }),
    staleNonces: new Counter({
      name: 'pilot_xds_stale_nonce_total',
      help: 'Requests ignored because their nonce was not the latest, by type',
      labelNames: ['type'],
      registers,
    }),
    connected: new Gauge({
      name: 'pilot_xds_connected_proxies',
      help: 'Open ADS streams',
      registers,
    }),
    convergence: new Histogram({
      name: 'pilot_proxy_convergence_time_seconds',
      help: 'From a registry change to the proxy ACKing config that includes it, by type',
      labelNames: ['type'],
      buckets,
      registers,
    }),
    buildTime: new Histogram({
      name: 'pilot_build_time_seconds',
      help: 'Time to build a mesh snapshot from the registry',
      buckets,
      registers,
    }),
    pushTime: new Histogram({
      name: 'pilot_push_time_seconds',
      help: 'Time to build every connected proxy snapshot of a push and hand it to its stream',
      buckets,
      registers,
    }),
    inconsistent: new Counter({
      name: 'pilot_inconsistent_snapshots_total',
      help: 'Proxy snapshots refused because they failed the consistency check',
      registers,
    }),
    builds: new Counter({
      name: 'pilot_builds_total',
      help: 'Mesh snapshots built',
      registers,
    }),
  };
}

/**
 * The registries' Prometheus metrics, read from their statuses at scrape time:
 * - `pilot_registry_up{registry}`: 1 while its last request succeeded and its view is complete;
 * - `pilot_registry_last_sync_seconds{registry}`: when it last read its server successfully
 *   (Unix seconds; absent before the first success). Alert on `time() - it` growing;
 * - `pilot_registry_services{registry}`: services in its current (or last good) view;
 * - `pilot_registry_conflicts`: hostnames more than one registry has (the first one's is served).
 */
import { Gauge, type Registry } from '../../lib/metrics.ts';
import type { RegistryReport } from './aggregate.ts';

export function registerRegistryMetrics(metrics: Registry, report: RegistryReport): void {
  const registers = [metrics];
  new Gauge({
    name: 'pilot_registry_up',
    help: 'Whether the service registry answered its last request and has a complete view (1) or not (0)',
    labelNames: ['registry'],
    registers,
    collect() {
      this.reset();
      for (const s of report.statuses())
        this.set({ registry: s.name }, s.state === 'synced' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'pilot_registry_last_sync_seconds',
    help: 'When the service registry was last read successfully (Unix time, seconds)',
    labelNames: ['registry'],
    registers,
    collect() {
      this.reset();
      for (const s of report.statuses()) {
        if (s.lastSyncMs !== undefined) this.set({ registry: s.name }, s.lastSyncMs / 1000);
      }
    },
  });
  new Gauge({
    name: 'pilot_registry_services',
    help: "Services in the registry's current (or last good) view",
    labelNames: ['registry'],
    registers,
    collect() {
      this.reset();
      for (const s of report.statuses()) this.set({ registry: s.name }, s.services);
    },
  });
  new Gauge({
    name: 'pilot_registry_conflicts',
    help: 'Hostnames more than one registry has (the first in --registries is served)',
    registers,
    collect() {
      this.set(report.conflicts().length);
    },
  });
}

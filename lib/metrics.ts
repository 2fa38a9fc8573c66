/**
 * Prometheus metrics: one registry per server (so tests can run several in one process), with the
 * Node process metrics, exposed by the ops server at `/metrics`.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createRegistry(prefix: string, defaults = true): Registry {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  return registry;
}

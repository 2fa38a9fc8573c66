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

/**
 * A metric's children by a key the caller builds from the label values: prom-client hashes the
 * label object (sorting its names) on every `inc` or `observe` with labels, which costs more than
 * the count itself on a hot path; a child made once and kept does not.
 */
export class Children<C> {
  private readonly byKey = new Map<string, C>();
  private readonly make: (key: string) => C;

  constructor(make: (key: string) => C) {
    this.make = make;
  }

  get(key: string): C {
    let c = this.byKey.get(key);
    if (c === undefined) {
      c = this.make(key);
      this.byKey.set(key, c);
    }
    return c;
  }
}

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
 * A metric's children by a key the caller builds from the label values: the label object and
 * prom-client's child are made once per key. prom-client still hashes a child's labels on every
 * `inc` or `observe` (prom-client 15's `labels()` binds `inc` to the label object); a counter
 * bumped on every request counts in HotCounts instead.
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

interface Cell {
  readonly labels: Record<string, string>;
  n: number;
  published: number;
}

/**
 * Counts by two label values kept as plain numbers, for a counter bumped on every request: even a
 * child made once has prom-client hash its label object on each `inc`, a string per call. A cell
 * is found by the values themselves (no key built); `publish`, from the counter's `collect`, adds
 * to the counter what was counted since the last scrape.
 */
export class HotCounts {
  private readonly names: readonly [string, string];
  private readonly cells = new Map<string, Map<string | number, Cell>>();

  constructor(names: readonly [string, string]) {
    this.names = names;
  }

  cell(a: string, b: string | number): Cell {
    let inner = this.cells.get(a);
    if (inner === undefined) {
      inner = new Map();
      this.cells.set(a, inner);
    }
    let c = inner.get(b);
    if (c === undefined) {
      c = { labels: { [this.names[0]]: a, [this.names[1]]: String(b) }, n: 0, published: 0 };
      inner.set(b, c);
    }
    return c;
  }

  publish(counter: { inc(labels: Record<string, string>, value: number): void }): void {
    for (const inner of this.cells.values()) {
      for (const c of inner.values()) {
        if (c.n === c.published) continue;
        counter.inc(c.labels, c.n - c.published);
        c.published = c.n;
      }
    }
  }
}

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

export interface Cell {
  readonly labels: Record<string, string>;
  n: number;
  published: number;
}

/**
 * Counts kept as plain numbers, for a counter bumped on every request: even a child made once has
 * prom-client hash its label object on each `inc`, a string per call. `cell(a, b)` finds a cell by
 * the first two label values themselves (no key built); `cellOf(values)` makes or finds one by
 * all of them, for a caller that keeps the cell. `publish`, from the counter's `collect`, adds to
 * the counter what was counted since the last scrape.
 */
export class HotCounts {
  private readonly names: readonly [string, string, ...string[]];
  private readonly cells = new Map<string, Map<string | number, Cell>>();
  private readonly byKey = new Map<string, Cell>();

  constructor(names: readonly [string, string, ...string[]]) {
    this.names = names;
  }

  /** By the first two label values (a counter with exactly two labels). */
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

  /** By every label value, in the order of the names given to the constructor. */
  cellOf(values: readonly string[]): Cell {
    if (values.length !== this.names.length) {
      throw new Error(
        `HotCounts: ${String(values.length)} values for labels ${this.names.join(', ')}`,
      );
    }
    const key = values.join('\0');
    let c = this.byKey.get(key);
    if (c === undefined) {
      const labels: Record<string, string> = {};
      this.names.forEach((n, i) => (labels[n] = values[i] ?? ''));
      c = { labels, n: 0, published: 0 };
      this.byKey.set(key, c);
    }
    return c;
  }

  publish(counter: { inc(labels: Record<string, string>, value: number): void }): void {
    const add = (c: Cell) => {
      if (c.n === c.published) return;
      counter.inc(c.labels, c.n - c.published);
      c.published = c.n;
    };
    for (const inner of this.cells.values()) for (const c of inner.values()) add(c);
    for (const c of this.byKey.values()) add(c);
  }
}

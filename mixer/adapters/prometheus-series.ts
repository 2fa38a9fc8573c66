/**
 * The prometheus adapter's per-sample path: each distinct set of label values (a series) is
 * resolved once to its labels object, found again by the values themselves through one nested Map
 * per label (no label object, key string or formatting per sample). Counters add to the series
 * and hand prom-client the sums when the registry is read (its `collect`), so a sample costs a few
 * Map lookups and an addition; gauges and histograms get the series' labels object.
 */
import { Counter } from '../../lib/metrics.ts';
import { formatValue, type Value } from '../../lib/mixer/value.ts';

export interface Series {
  /** `{labelName: formatted value}`, as prom-client takes it. */
  readonly labels: Readonly<Record<string, string>>;
  /** Counters: added since prom-client last collected. */
  pending: number;
  /** Counters: added to (even 0) since prom-client last collected. */
  touched: boolean;
}

/** A value as a Map key: primitives as they are, objects by their text (their label value). */
function keyOf(v: Value | undefined): string | number | boolean {
  if (v === undefined) return '';
  if (typeof v === 'object') return formatValue(v);
  return v;
}

type Level = Map<string | number | boolean, Level | Series>;

export class SeriesTable {
  private readonly labelNames: readonly string[];
  private readonly root: Level = new Map();
  private readonly all: Series[] = [];
  private none: Series | undefined;

  constructor(labelNames: readonly string[]) {
    this.labelNames = labelNames;
  }

  /** The series of these dimensions (a label with no dimension is ''). */
  get(dimensions: ReadonlyMap<string, Value>): Series {
    const names = this.labelNames;
    if (names.length === 0) return (this.none ??= this.create(dimensions));
    let level = this.root;
    const last = names.length - 1;
    for (let i = 0; i < last; i++) {
      const k = keyOf(dimensions.get(names[i] as string));
      let next = level.get(k) as Level | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(k, next);
      }
      level = next;
    }
    const k = keyOf(dimensions.get(names[last] as string));
    let s = level.get(k) as Series | undefined;
    if (s === undefined) {
      s = this.create(dimensions);
      level.set(k, s);
    }
    return s;
  }

  /** Counters: what was added since the last call, into prom-client. */
  collectInto(counter: Counter): void {
    for (const s of this.all) {
      if (!s.touched) continue;
      const n = s.pending;
      s.pending = 0;
      s.touched = false;
      counter.inc(s.labels, n);
    }
  }

  private create(dimensions: ReadonlyMap<string, Value>): Series {
    const labels: Record<string, string> = {};
    for (const l of this.labelNames) {
      const v = dimensions.get(l);
      labels[l] = v === undefined ? '' : formatValue(v);
    }
    const s: Series = { labels, pending: 0, touched: false };
    this.all.push(s);
    return s;
  }
}

/**
 * A Prometheus histogram for values observed on every request. prom-client's `observe`, even on a
 * child made once with `labels()`, checks the label object and hashes it into a string, then
 * finds the bucket by a number-keyed property: about 1 µs, and Mixer observed four a Check (its
 * own time and each adapter call's), some 8% of its CPU under load. A series here is made once per
 * label set; its `observe` is a search of the bucket bounds and three additions into numbers.
 *
 * It is a prom-client Histogram (registered, scraped and reset with the rest); `get` (and the text
 * exposition, which reads `getForPromString` when a metric has it) adds the series to what
 * prom-client holds. `observe(labels, value)` goes to the series too; `labels()` and `zero()` stay
 * prom-client's, so use either those or the series for a label set, not both.
 */
import { Histogram, type HistogramConfiguration, type LabelValues } from 'prom-client';

export class HistogramSeries {
  readonly labels: Readonly<Record<string, string | number>>;
  /** Observations per bucket, not cumulative: counts[i] for bounds[i - 1] < v <= bounds[i]. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: readonly number[];

  constructor(labels: Readonly<Record<string, string | number>>, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    if (!Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${String(v)}`);
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] ?? Infinity)) i++;
    if (i < b.length) this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += v;
    this.count++;
  }
}

/** One line of prom-client's exposition before its labels are splayed (`labels` + `sharedLabels`). */
interface PromValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName: string;
}

interface PromString {
  readonly values: readonly PromValue[];
}

/**
 * prom-client's Histogram#getForPromString (untyped in its declarations): its own series. Looked
 * up once, so a prom-client without it fails at start, not at the first scrape.
 */
const baseGetForPromString = ((): ((this: unknown) => Promise<PromString>) => {
  const f: unknown = Reflect.get(Histogram.prototype, 'getForPromString');
  if (typeof f !== 'function') throw new Error('prom-client Histogram has no getForPromString');
  return f as (this: unknown) => Promise<PromString>;
})();

export class HotHistogram<T extends string> extends Histogram<T> {
  private readonly metricName: string;
  private readonly bounds: readonly number[];
  private readonly labelOrder: readonly T[];
  private readonly byKey = new Map<string, HistogramSeries>();

  constructor(config: HistogramConfiguration<T> & { readonly buckets: number[] }) {
    super(config);
    this.metricName = config.name;
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    this.labelOrder = [...(config.labelNames ?? [])];
    // prom-client starts a histogram without labels with a zero series; here that series is ours.
    super.reset();
    if (this.labelOrder.length === 0) this.series({});
    // prom-client sets `observe` on the instance in its constructor; route it to the series.
    this.observe = (
      a: number | LabelValues<T> | { labels?: LabelValues<T>; value: number },
      b?: number,
    ) => {
      if (typeof a === 'number') this.series({}).observe(a);
      else if (b !== undefined) this.series(a as LabelValues<T>).observe(b);
      else if ('value' in a) this.series(a.labels ?? {}).observe(a.value);
    };
  }

  /** The series for these label values (made on first use): keep it and observe into it. */
  series(labels: LabelValues<T>): HistogramSeries {
    let key = '';
    for (const n of this.labelOrder) key += `${String(labels[n] ?? '')}\0`;
    let s = this.byKey.get(key);
    if (s === undefined) {
      for (const n of Object.keys(labels)) {
        if (!this.labelOrder.includes(n as T)) {
          throw new Error(`Added label "${n}" is not included in initial labelset`);
        }
      }
      s = new HistogramSeries({ ...labels } as Record<string, string | number>, this.bounds);
      this.byKey.set(key, s);
    }
    return s;
  }

  /**
   * What the registry's text exposition reads (and prom-client's `get` too, splaying the labels):
   * prom-client's own series, then these, in its format (the series' labels as shared labels).
   */
  async getForPromString(): Promise<PromString> {
    const base = await baseGetForPromString.call(this);
    return {
      ...base,
      values: [...base.values, ...[...this.byKey.values()].flatMap((s) => this.seriesValues(s))],
    };
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before this class's fields are set.
    (this.byKey as Map<string, HistogramSeries> | undefined)?.clear();
  }

  private seriesValues(s: HistogramSeries): PromValue[] {
    const bucket = `${this.metricName}_bucket`;
    const sharedLabels = s.labels;
    const out: PromValue[] = [];
    let acc = 0;
    this.bounds.forEach((le, i) => {
      acc += s.counts[i] ?? 0;
      out.push({ labels: { le }, sharedLabels, value: acc, metricName: bucket });
    });
    out.push(
      { labels: { le: '+Inf' }, sharedLabels, value: s.count, metricName: bucket },
      { labels: {}, sharedLabels, value: s.sum, metricName: `${this.metricName}_sum` },
      { labels: {}, sharedLabels, value: s.count, metricName: `${this.metricName}_count` },
    );
    return out;
  }
}

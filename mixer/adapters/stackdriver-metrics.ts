/**
 * Metric instances as Cloud Monitoring time series (google.monitoring.v3.TimeSeries, in the shape
 * Google's Node client takes), gathered between pushes: one point per series and push, as
 * CreateTimeSeries requires. DELTA sums (or merges distributions) over the window since the last
 * push, CUMULATIVE keeps running totals from the series' first value, GAUGE sends the last value.
 * The metric type is `custom.googleapis.com/<instance name>` and the resource `global` with the
 * project id unless the instance names a monitored resource (Istio 0.2's mapping).
 */
import { Duration, formatValue, type Value } from '../../lib/mixer/value.ts';
import type { MetricInstance } from '../adapter.ts';
import type { BucketOptions, MetricInfo } from './stackdriver-config.ts';

export interface Timestamp {
  readonly seconds: number;
  readonly nanos: number;
}

export function timestamp(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export interface Resource {
  readonly type: string;
  readonly labels: Record<string, string>;
}

/** The instance's monitored resource, or `global` in the project (0.2's default). */
export function resourceOf(
  type: string,
  dims: ReadonlyMap<string, Value> | undefined,
  projectId: string,
): Resource {
  if (type === '') return { type: 'global', labels: { project_id: projectId } };
  const labels: Record<string, string> = { project_id: projectId };
  for (const [k, v] of dims ?? []) labels[k] = formatValue(v);
  return { type, labels };
}

interface Distribution {
  count: number;
  mean: number;
  /** Sum of squared deviations from the mean (Welford). */
  m2: number;
  readonly bucketCounts: number[];
}

interface Series {
  readonly type: string;
  readonly labels: Record<string, string>;
  readonly resource: Resource;
  readonly info: MetricInfo;
  readonly startMs: number;
  value: number | boolean | string | Distribution;
  dirty: boolean;
}

/** Which bucket a value falls in (0 is the underflow bucket). */
export function bucketIndex(b: BucketOptions, v: number): number {
  if ('linearBuckets' in b) {
    const { numFiniteBuckets: n, width, offset } = b.linearBuckets;
    if (v < offset) return 0;
    return Math.min(n + 1, Math.floor((v - offset) / width) + 1);
  }
  if ('exponentialBuckets' in b) {
    const { numFiniteBuckets: n, growthFactor, scale } = b.exponentialBuckets;
    if (v < scale) return 0;
    return Math.min(n + 1, Math.floor(Math.log(v / scale) / Math.log(growthFactor)) + 1);
  }
  let i = 0;
  for (const bound of b.explicitBuckets.bounds) if (v >= bound) i++;
  return i;
}

function bucketCount(b: BucketOptions): number {
  if ('linearBuckets' in b) return b.linearBuckets.numFiniteBuckets + 2;
  if ('exponentialBuckets' in b) return b.exponentialBuckets.numFiniteBuckets + 2;
  return b.explicitBuckets.bounds.length + 1;
}

/** An instance value as a number: durations in seconds (microseconds for INT64, as 0.2 sent). */
function numeric(v: Value, info: MetricInfo): number | undefined {
  if (typeof v === 'number') return info.value === 'INT64' ? Math.round(v) : v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Duration) return info.value === 'INT64' ? Math.round(v.ms * 1000) : v.ms / 1000;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export class MetricBuffer {
  private readonly series = new Map<string, Series>();
  private windowStartMs: number;
  private readonly infos: ReadonlyMap<string, MetricInfo>;
  private readonly projectId: string;

  constructor(infos: ReadonlyMap<string, MetricInfo>, projectId: string, nowMs: number) {
    this.infos = infos;
    this.projectId = projectId;
    this.windowStartMs = nowMs;
  }

  get size(): number {
    return this.series.size;
  }

  /** Adds one instance; returns why it could not be taken, or undefined. */
  record(i: MetricInstance, nowMs: number): string | undefined {
    const info = this.infos.get(i.name);
    if (!info) return `no metricInfo for ${i.name}`;
    const labels: Record<string, string> = {};
    for (const [k, v] of i.dimensions) labels[k] = formatValue(v);
    const resource = resourceOf(
      i.monitoredResourceType,
      i.monitoredResourceDimensions,
      this.projectId,
    );
    const key = JSON.stringify([i.name, labels, resource]);
    let s = this.series.get(key);
    if (!s) {
      s = {
        type: `custom.googleapis.com/${i.name}`,
        labels,
        resource,
        info,
        startMs: nowMs,
        value: info.value === 'DISTRIBUTION' ? emptyDistribution(info) : 0,
        dirty: false,
      };
      this.series.set(key, s);
    }
    if (info.value === 'BOOL') s.value = i.value === true || i.value === 'true';
    else if (info.value === 'STRING') s.value = formatValue(i.value);
    else {
      const n = numeric(i.value, info);
      if (n === undefined) return `${i.name}: ${formatValue(i.value)} is not a number`;
      if (typeof s.value === 'object') addToDistribution(s.value, info, n);
      else s.value = info.kind === 'GAUGE' ? n : Number(s.value) + n;
    }
    s.dirty = true;
    return undefined;
  }

  /** The series to send now: each changed one, with one point; DELTA and GAUGE start again. */
  drain(nowMs: number): object[] {
    const end = Math.max(nowMs, this.windowStartMs + 1);
    const out: object[] = [];
    for (const [key, s] of this.series) {
      if (!s.dirty) continue;
      const { kind } = s.info;
      const start = kind === 'CUMULATIVE' ? Math.min(s.startMs, end - 1) : this.windowStartMs;
      const interval =
        kind === 'GAUGE'
          ? { endTime: timestamp(end) }
          : { startTime: timestamp(start), endTime: timestamp(end) };
      out.push({
        metric: { type: s.type, labels: s.labels },
        resource: s.resource,
        metricKind: kind,
        valueType: s.info.value,
        points: [{ interval, value: typedValue(s) }],
      });
      if (kind === 'CUMULATIVE') s.dirty = false;
      else this.series.delete(key);
    }
    this.windowStartMs = end;
    return out;
  }
}

function emptyDistribution(info: MetricInfo): Distribution {
  const n = info.buckets ? bucketCount(info.buckets) : 1;
  return { count: 0, mean: 0, m2: 0, bucketCounts: new Array<number>(n).fill(0) };
}

function addToDistribution(d: Distribution, info: MetricInfo, v: number): void {
  d.count++;
  const delta = v - d.mean;
  d.mean += delta / d.count;
  d.m2 += delta * (v - d.mean);
  const i = info.buckets ? bucketIndex(info.buckets, v) : 0;
  d.bucketCounts[i] = (d.bucketCounts[i] ?? 0) + 1;
}

function typedValue(s: Series): object {
  const v = s.value;
  switch (s.info.value) {
    case 'BOOL':
      return { boolValue: v === true };
    case 'STRING':
      return { stringValue: typeof v === 'string' ? v : '' };
    case 'INT64':
      return { int64Value: Number(v) };
    case 'DOUBLE':
      return { doubleValue: Number(v) };
    case 'DISTRIBUTION': {
      const d = v as Distribution;
      return {
        distributionValue: {
          count: d.count,
          mean: d.mean,
          sumOfSquaredDeviation: d.m2,
          bucketOptions: s.info.buckets,
          bucketCounts: [...d.bucketCounts],
        },
      };
    }
  }
}

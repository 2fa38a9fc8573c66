/**
 * The service graph (Istio 0.2's servicegraph): who calls whom, from Mixer's request metrics as
 * its Prometheus handler exports them (mixer/examples/telemetry.yaml: `request_count` by
 * source_service, destination_service and response_code; `request_duration` buckets by
 * destination_service, and by source_service when the metric has it). Istio 0.2's names with the
 * `istio_` prefix are read too.
 *
 * Counters are cumulative: rates come from two observations (the increase over the time between
 * them; a counter that went down was reset, and its new value is the increase). Latency quantiles
 * are read from the histogram's increase over the same window, interpolated within a bucket as
 * Prometheus' histogram_quantile does; with no request in the window, from the totals. Errors are
 * responses with a 5xx code.
 */
import type { Sample } from './prom-text.ts';

export const RequestCountNames = ['request_count', 'istio_request_count'] as const;
export const RequestDurationNames = ['request_duration', 'istio_request_duration'] as const;

interface Totals {
  readonly requests: number;
  readonly errors: number;
}

export interface Observation {
  readonly at: number;
  /** By `source\u0000destination`. */
  readonly edges: ReadonlyMap<string, Totals>;
  /** Cumulative bucket counts by `source\u0000destination` (source '' when the metric has none). */
  readonly buckets: ReadonlyMap<string, ReadonlyMap<number, number>>;
}

export interface Stats {
  /** Requests counted in total. */
  readonly requests: number;
  readonly errors: number;
  /** Requests per second over the last window; null before a second observation. */
  readonly rps: number | null;
  /** Share of 5xx over the window (over the totals before a second observation). */
  readonly errorRate: number;
  /** Seconds; null with no duration data. */
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface GraphNode extends Stats {
  /** The service hostname (`reviews.shop.svc.cluster.local`), or `unknown`. */
  readonly id: string;
  /** `reviews.shop`. */
  readonly label: string;
}

export interface GraphEdge extends Stats {
  readonly source: string;
  readonly destination: string;
}

export interface Graph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  /** Seconds between the two observations the rates come from (null before the second). */
  readonly windowSeconds: number | null;
}

const sep = '\u0000';

function pick(samples: readonly Sample[], names: readonly string[], suffix = ''): Sample[] {
  for (const n of names) {
    const found = samples.filter((s) => s.name === `${n}${suffix}`);
    if (found.length > 0) return found;
  }
  return [];
}

export function observe(samples: readonly Sample[], at: number): Observation {
  const edges = new Map<string, { requests: number; errors: number }>();
  for (const s of pick(samples, RequestCountNames)) {
    const key = `${s.labels['source_service'] ?? 'unknown'}${sep}${s.labels['destination_service'] ?? 'unknown'}`;
    const e = edges.get(key) ?? { requests: 0, errors: 0 };
    e.requests += s.value;
    if (/^5\d\d$/.test(s.labels['response_code'] ?? '')) e.errors += s.value;
    edges.set(key, e);
  }
  const buckets = new Map<string, Map<number, number>>();
  for (const s of pick(samples, RequestDurationNames, '_bucket')) {
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    if (Number.isNaN(le)) continue;
    const key = `${s.labels['source_service'] ?? ''}${sep}${s.labels['destination_service'] ?? 'unknown'}`;
    const b = buckets.get(key) ?? new Map<number, number>();
    b.set(le, (b.get(le) ?? 0) + s.value);
    buckets.set(key, b);
  }
  return { at, edges, buckets };
}

function increase(cur: number, prev: number | undefined): number {
  if (prev === undefined) return cur;
  return cur >= prev ? cur - prev : cur; // a reset: counting started again
}

/** histogram_quantile over cumulative bucket counts. */
export function quantile(q: number, buckets: ReadonlyMap<number, number>): number | null {
  const les = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? buckets.get(les[les.length - 1] ?? Infinity) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const count = buckets.get(le) ?? 0;
    if (count >= rank) {
      if (le === Infinity) return prevLe; // above the highest bound: that bound, as Prometheus does
      const inBucket = count - prevCount;
      return inBucket <= 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

function bucketIncrease(
  cur: ReadonlyMap<number, number>,
  prev: ReadonlyMap<number, number> | undefined,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const [le, c] of cur) out.set(le, increase(c, prev?.get(le)));
  return out;
}

function addInto(into: Map<number, number>, from: ReadonlyMap<number, number>): void {
  for (const [le, c] of from) into.set(le, (into.get(le) ?? 0) + c);
}

function hostLabel(id: string): string {
  const m = /^([^.]+)\.([^.]+)\.svc\./.exec(id);
  return m ? `${m[1] ?? ''}.${m[2] ?? ''}` : id;
}

/** The graph from the latest observation, with rates over the window since `prev`. */
export function buildGraph(cur: Observation, prev: Observation | undefined): Graph {
  const dt = prev ? (cur.at - prev.at) / 1000 : 0;
  const windowed = prev !== undefined && dt > 0;
  const latency = (keyFilter: (key: string) => boolean) => {
    const window = new Map<number, number>();
    const totals = new Map<number, number>();
    for (const [key, b] of cur.buckets) {
      if (!keyFilter(key)) continue;
      addInto(window, bucketIncrease(b, prev?.buckets.get(key)));
      addInto(totals, b);
    }
    const use = windowed && (window.get(Infinity) ?? 0) > 0 ? window : totals;
    return { p50: quantile(0.5, use), p99: quantile(0.99, use) };
  };
  const stats = (
    keys: readonly string[],
    lat: { p50: number | null; p99: number | null },
  ): Stats => {
    let requests = 0;
    let errors = 0;
    let dReq = 0;
    let dErr = 0;
    for (const k of keys) {
      const c = cur.edges.get(k);
      if (!c) continue;
      const p = prev?.edges.get(k);
      requests += c.requests;
      errors += c.errors;
      dReq += increase(c.requests, p?.requests);
      dErr += increase(c.errors, p?.errors);
    }
    const rate = windowed && dReq > 0 ? dErr / dReq : requests > 0 ? errors / requests : 0;
    return { requests, errors, rps: windowed ? dReq / dt : null, errorRate: rate, ...lat };
  };
  const edges: GraphEdge[] = [];
  const ids = new Set<string>();
  for (const key of [...cur.edges.keys()].sort()) {
    const [source = 'unknown', destination = 'unknown'] = key.split(sep);
    ids.add(source);
    ids.add(destination);
    const bySource = [...cur.buckets.keys()].some((k) => k === key);
    const lat = latency((k) => (bySource ? k === key : k.endsWith(`${sep}${destination}`)));
    edges.push({ source, destination, ...stats([key], lat) });
  }
  const nodes: GraphNode[] = [...ids].sort().map((id) => {
    const incoming = [...cur.edges.keys()].filter((k) => k.endsWith(`${sep}${id}`));
    const lat = latency((k) => k.endsWith(`${sep}${id}`));
    return { id, label: hostLabel(id), ...stats(incoming, lat) };
  });
  return { nodes, edges, windowSeconds: windowed ? dt : null };
}

/**
 * `prometheus`: counters, gauges and histograms from metric instances, served on Mixer's
 * Prometheus port (42422). Spec: `metrics[]` of `{name, instanceName, kind: COUNTER | GAUGE |
 * DISTRIBUTION, labelNames[], description, buckets}`; buckets are `explicitBuckets {bounds}`,
 * `linearBuckets {numFiniteBuckets, width, offset}` or `exponentialBuckets {numFiniteBuckets,
 * growthFactor, scale}`. Durations are observed in seconds, booleans as 0/1.
 *
 * Metric objects are shared per registry by definition, so a handler whose config did not change
 * the metric keeps its values across config updates; a changed definition replaces the metric.
 */
import { Counter, Gauge, Histogram, type Registry } from '../../lib/metrics.ts';
import { Duration, formatValue, type Value } from '../../lib/mixer/value.ts';
import type { Adapter, FieldReader, MetricInstance } from '../adapter.ts';
import { SeriesTable } from './prometheus-series.ts';

const Kind = ['GAUGE', 'COUNTER', 'DISTRIBUTION'] as const;
type Kind = (typeof Kind)[number];

interface MetricDef {
  readonly name: string;
  readonly instanceName: string;
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  readonly help: string;
  readonly buckets: readonly number[];
}

type PromMetric = Counter | Gauge | Histogram;

interface Shared {
  readonly key: string;
  readonly def: MetricDef;
  readonly metric: PromMetric;
  /** The metric's series, resolved once each (see prometheus-series.ts). */
  readonly series: SeriesTable;
  readonly owners: Set<object>;
}

const shared = new WeakMap<Registry, Map<string, Shared>>();

function readBuckets(b: FieldReader): number[] {
  const explicit = b.object('explicitBuckets');
  const linear = b.object('linearBuckets');
  const exp = b.object('exponentialBuckets');
  const set = [
    b.has('explicitBuckets'),
    b.has('linearBuckets'),
    b.has('exponentialBuckets'),
  ].filter(Boolean);
  if (set.length > 1)
    b.fail('explicitBuckets', 'set one of explicitBuckets, linearBuckets, exponentialBuckets');
  let out: number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  if (b.has('explicitBuckets')) {
    out = [...explicit.numberList('bounds')];
    if (out.length === 0) explicit.fail('bounds', 'needs at least one bound');
  } else if (b.has('linearBuckets')) {
    const n = linear.integer('numFiniteBuckets', 0, 1, 1000);
    const width = linear.number('width', 0, Number.MIN_VALUE, Number.MAX_VALUE);
    const offset = linear.number('offset', 0, -Number.MAX_VALUE, Number.MAX_VALUE);
    out = Array.from({ length: n }, (_, i) => offset + width * i);
  } else if (b.has('exponentialBuckets')) {
    const n = exp.integer('numFiniteBuckets', 0, 1, 1000);
    const growth = exp.number('growthFactor', 0, 1.000001, Number.MAX_VALUE);
    const scale = exp.number('scale', 0, Number.MIN_VALUE, Number.MAX_VALUE);
    out = Array.from({ length: n }, (_, i) => scale * growth ** i);
  }
  explicit.done();
  linear.done();
  exp.done();
  b.done();
  for (let i = 1; i < out.length; i++) {
    if ((out[i] ?? 0) <= (out[i - 1] ?? 0)) b.fail('explicitBuckets', 'bounds must increase');
  }
  return out;
}

function readMetric(m: FieldReader): MetricDef {
  const name = m.requiredString('name');
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name))
    m.fail('name', `"${name}" is not a Prometheus metric name`);
  const labelNames = m.stringList('labelNames');
  labelNames.forEach((l, i) => {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l) || l.startsWith('__')) {
      m.fail(`labelNames[${String(i)}]`, `"${l}" is not a Prometheus label name`);
    }
  });
  const def = {
    name,
    instanceName: m.requiredString('instanceName'),
    kind: m.oneOf('kind', Kind, 'COUNTER'),
    labelNames,
    help: m.string('description', `${name} (istio-lite Mixer prometheus adapter)`),
    buckets: readBuckets(m.object('buckets')),
  };
  m.done();
  return def;
}

function create(def: MetricDef, series: SeriesTable): PromMetric {
  const base = { name: def.name, help: def.help, labelNames: [...def.labelNames], registers: [] };
  switch (def.kind) {
    case 'COUNTER':
      // Samples add up in their series; prom-client gets the sums when the registry is read.
      return new Counter({
        ...base,
        collect() {
          series.collectInto(this);
        },
      });
    case 'GAUGE':
      return new Gauge(base);
    case 'DISTRIBUTION':
      return new Histogram({ ...base, buckets: [...def.buckets] });
  }
}

function acquire(registry: Registry, def: MetricDef, owner: object): Shared {
  let byName = shared.get(registry);
  if (!byName) {
    byName = new Map();
    shared.set(registry, byName);
  }
  const key = JSON.stringify([def.kind, def.labelNames, def.help, def.buckets]);
  const cur = byName.get(def.name);
  if (cur && cur.key === key) {
    cur.owners.add(owner);
    return cur;
  }
  if (registry.getSingleMetric(def.name)) registry.removeSingleMetric(def.name);
  const series = new SeriesTable(def.labelNames);
  const metric = create(def, series);
  registry.registerMetric(metric);
  const s: Shared = { key, def, metric, series, owners: new Set([owner]) };
  byName.set(def.name, s);
  return s;
}

function release(registry: Registry, name: string, owner: object): void {
  const byName = shared.get(registry);
  const cur = byName?.get(name);
  if (!cur?.owners.delete(owner) || cur.owners.size > 0) return;
  byName?.delete(name);
  if (registry.getSingleMetric(name) === cur.metric) registry.removeSingleMetric(name);
}

function numeric(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Duration) return v.ms / 1000;
  if (typeof v === 'string') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export const prometheus: Adapter = {
  name: 'prometheus',
  description: 'Prometheus counters, gauges and histograms from metric instances.',
  templates: ['metric'],
  create(spec, env) {
    const defs = spec.list('metrics').map(readMetric);
    const names = new Set<string>();
    defs.forEach((d, i) => {
      if (names.has(d.name))
        spec.fail(`metrics[${String(i)}].name`, `metric ${d.name} is defined twice`);
      names.add(d.name);
    });
    spec.done();
    const owner = {};
    const byInstance = new Map<string, Shared[]>();
    for (const def of defs) {
      const list = byInstance.get(def.instanceName) ?? [];
      list.push(acquire(env.metrics, def, owner));
      byInstance.set(def.instanceName, list);
    }
    let dropped = 0;
    return {
      validateInstance(i) {
        const list = byInstance.get(i.name);
        if (!list) return `no metric of this prometheus handler has instanceName ${i.name}`;
        for (const { def } of list) {
          const missing = def.labelNames.filter((l) => !i.keys.includes(l));
          if (missing.length > 0)
            return `metric ${def.name} needs dimensions ${missing.join(', ')} that ${i.name} does not have`;
        }
        return undefined;
      },
      report(instances) {
        for (const inst of instances) {
          if (inst.template !== 'metric') continue;
          const list = byInstance.get(inst.name);
          if (!list) continue;
          const value = numeric(inst.value);
          if (value === undefined) {
            if (dropped++ % 1000 === 0) {
              env.logger.warn(
                { handler: env.name, instance: inst.name, value: formatValue(inst.value) },
                'metric value is not a number; dropped',
              );
            }
            continue;
          }
          for (const shared of list) record(shared, inst, value);
        }
      },
      close() {
        for (const def of defs) release(env.metrics, def.name, owner);
      },
    };
  },
};

function record(s: Shared, inst: MetricInstance, value: number): void {
  const series = s.series.get(inst.dimensions);
  const metric = s.metric;
  if (s.def.kind === 'COUNTER') {
    if (!(value >= 0)) return; // a counter never goes down (negative and NaN are dropped)
    if (!Number.isFinite(value))
      throw new TypeError(`Value is not a valid number: ${String(value)}`);
    series.pending += value;
    series.touched = true;
  } else if (metric instanceof Gauge) metric.set(series.labels, value);
  else if (metric instanceof Histogram) metric.observe(series.labels, value);
}

import assert from 'node:assert/strict';
import { Duration, IpAddress, jsonValue, type Value } from '../../lib/mixer/value.ts';
import {
  specReader,
  type Handler,
  type LogEntryInstance,
  type MetricInstance,
} from '../adapter.ts';
import { harness, type Harness } from '../testing/harness.ts';
import { prometheus } from './prometheus.ts';
import { stdio } from './stdio.ts';

function metric(name: string, value: Value, dims: [string, Value][]): MetricInstance {
  return { template: 'metric', name, value, dimensions: new Map(dims), monitoredResourceType: '' };
}

const spec = {
  metrics: [
    {
      name: 'requests',
      instanceName: 'count.metric.ns',
      kind: 'COUNTER',
      labelNames: ['service', 'code'],
    },
    { name: 'inflight', instanceName: 'gauge.metric.ns', kind: 'GAUGE', labelNames: ['service'] },
    {
      name: 'latency',
      instanceName: 'duration.metric.ns',
      kind: 'DISTRIBUTION',
      labelNames: ['service'],
      buckets: { explicitBuckets: { bounds: [0.01, 0.1] } },
    },
    { name: 'total', instanceName: 'count.metric.ns', kind: 'COUNTER' },
  ],
};

function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(name));
}

describe('prometheus adapter: samples through resolved series', () => {
  let h: Harness;
  let handler: Handler;
  beforeEach(() => {
    h = harness();
    handler = prometheus.create(specReader(spec), h.envFor('handler.prometheus.ns'));
  });
  afterEach(async () => {
    await handler.close?.();
  });

  it('counts per label set, values formatted (numbers, durations, absent as "")', async () => {
    await handler.report?.([
      metric('count.metric.ns', 1, [
        ['service', 'ratings'],
        ['code', 200],
      ]),
      metric('count.metric.ns', 2, [
        ['service', 'ratings'],
        ['code', '200'],
      ]),
      metric('count.metric.ns', 1, [
        ['service', 'ratings'],
        ['code', 503],
      ]),
      metric('count.metric.ns', 1, [['service', new Duration(1500)]]),
      metric('count.metric.ns', true, [['service', IpAddress.parse('10.0.0.1') as IpAddress]]),
    ]);
    const text = await h.metrics.metrics();
    assert.deepEqual(lines(text, 'requests{'), [
      'requests{service="ratings",code="200"} 3',
      'requests{service="ratings",code="503"} 1',
      'requests{service="1.5s",code=""} 1',
      'requests{service="10.0.0.1",code=""} 1',
    ]);
    assert.deepEqual(lines(text, 'total'), ['total 6']);
  });

  it('keeps counting across scrapes, shows a 0 sample, drops negative values', async () => {
    const r = (v: number) =>
      handler.report?.([
        metric('count.metric.ns', v, [
          ['service', 'a'],
          ['code', 1],
        ]),
      ]);
    await r(0);
    assert.deepEqual(lines(await h.metrics.metrics(), 'requests{'), [
      'requests{service="a",code="1"} 0',
    ]);
    await r(2);
    await r(-5);
    await r(0.5);
    assert.deepEqual(lines(await h.metrics.metrics(), 'requests{'), [
      'requests{service="a",code="1"} 2.5',
    ]);
    const json = await h.metrics.getSingleMetricAsString('requests');
    assert.match(json, /requests\{service="a",code="1"\} 2.5/);
  });

  it('an infinite counter value is an adapter failure, as prom-client would make it', () => {
    assert.throws(
      () => handler.report?.([metric('count.metric.ns', Infinity, [['service', 'a']])]),
      /Value is not a valid number: Infinity/,
    );
  });

  it('sets gauges and observes histograms (durations in seconds)', async () => {
    await handler.report?.([
      metric('gauge.metric.ns', 3, [['service', 'a']]),
      metric('gauge.metric.ns', 7, [['service', 'a']]),
      metric('duration.metric.ns', new Duration(5), [['service', 'a']]),
      metric('duration.metric.ns', new Duration(50), [['service', 'a']]),
      metric('duration.metric.ns', '0.5', [['service', 'a']]),
    ]);
    const text = await h.metrics.metrics();
    assert.deepEqual(lines(text, 'inflight{'), ['inflight{service="a"} 7']);
    assert.deepEqual(lines(text, 'latency_'), [
      'latency_bucket{le="0.01",service="a"} 1',
      'latency_bucket{le="0.1",service="a"} 2',
      'latency_bucket{le="+Inf",service="a"} 3',
      'latency_sum{service="a"} 0.555',
      'latency_count{service="a"} 3',
    ]);
  });

  it('a second handler with the same definitions shares the series', async () => {
    const other = prometheus.create(specReader(spec), h.envFor('other.prometheus.ns'));
    const dims: [string, Value][] = [
      ['service', 'x'],
      ['code', 200],
    ];
    await handler.report?.([metric('count.metric.ns', 1, dims)]);
    await other.report?.([metric('count.metric.ns', 1, dims)]);
    assert.deepEqual(lines(await h.metrics.metrics(), 'requests{'), [
      'requests{service="x",code="200"} 2',
    ]);
    await other.close?.();
    await handler.report?.([metric('count.metric.ns', 1, dims)]);
    assert.deepEqual(lines(await h.metrics.metrics(), 'requests{'), [
      'requests{service="x",code="200"} 3',
    ]);
  });
});

function log(
  variables: [string, Value][],
  severity = 'Default',
  ms = 1_700_000_000_123,
): LogEntryInstance {
  return {
    template: 'logentry',
    name: 'accesslog.logentry.ns',
    severity,
    timestamp: new Date(ms),
    variables: new Map(variables),
    monitoredResourceType: '',
  };
}

/** The line as an object and JSON.stringify make it (what stdio wrote before it built lines itself). */
function reference(
  level: string,
  time: Date,
  instance: string,
  value: Value | undefined,
  fields: [string, Value][],
): string {
  const rec: Record<string, unknown> = { level, time: time.toISOString(), instance };
  if (value !== undefined) rec['value'] = jsonValue(value);
  for (const [k, v] of fields) if (!(k in rec)) rec[k] = jsonValue(v);
  return JSON.stringify(rec);
}

describe('stdio adapter: JSON lines, written once per turn', () => {
  let h: Harness;
  let handler: Handler;
  const now = 1_700_000_000_999;
  beforeEach(() => {
    h = harness({ now: () => now });
    handler = stdio.create(
      specReader({ severityLevels: { Default: 'WARNING' } }),
      h.envFor('handler.stdio.ns'),
    );
  });

  it('writes the lines JSON.stringify would, whatever the field names and values', async () => {
    const fields: [string, Value][] = [
      ['sourceIp', IpAddress.parse('10.1.0.5') as IpAddress],
      ['latency', new Duration(7)],
      ['code', 200],
      ['ratio', NaN],
      ['mtls', true],
      ['url', '/a "quoted" \\ path\n'],
      ['labels', new Map([['app', 'reviews']])],
      ['blob', Uint8Array.from([1, 2, 3])],
      ['when', new Date(5)],
      ['level', 'not me'],
      ['value', 'a log entry may have a value'],
      ['constructor', 'left out, as before'],
      ['ünï "cøde"', 'x'],
    ];
    const entry = log(fields);
    const m = metric('count.metric.ns', 1.5, fields);
    const withIndexKey = log([
      ['b', 1],
      ['7', 'seven'],
      ['a', 2],
    ]);
    await handler.report?.([entry, m, withIndexKey]);
    assert.deepEqual(h.stdout.lines(), [
      reference('warning', entry.timestamp, entry.name, undefined, fields),
      reference('info', new Date(now), m.name, 1.5, fields),
      reference('warning', withIndexKey.timestamp, withIndexKey.name, undefined, [
        ['b', 1],
        ['7', 'seven'],
        ['a', 2],
      ]),
    ]);
    assert.match(h.stdout.lines()[2] ?? '', /^\{"7":"seven","level"/);
  });

  it('prints times as toISOString does, in any year', async () => {
    const times = [0, 5, 50, 999, 1000, 1_700_000_000_001, 253_402_300_799_999];
    times.push(253_402_300_800_000, -1, -62_198_755_200_000, 8.64e15);
    const entries = times.map((ms) => log([], 'Default', ms));
    await handler.report?.(entries);
    assert.deepEqual(
      h.stdout.lines(),
      entries.map((e) => reference('warning', e.timestamp, e.name, undefined, [])),
    );
  });

  it('reports in one turn share one write; the promise settles once written', async () => {
    const writes: string[] = [];
    h.stdout.on('data', (d: Buffer) => writes.push(d.toString()));
    const a = handler.report?.([log([['n', 1]])]);
    const b = handler.report?.([log([['n', 2]])]);
    assert.equal(h.stdout.text, '');
    await Promise.all([a, b]);
    assert.equal(writes.length, 1);
    assert.deepEqual(
      h.stdout.lines().map((l) => (JSON.parse(l) as { n: number }).n),
      [1, 2],
    );
  });

  it('flush writes at once; close flushes', async () => {
    void handler.report?.([log([['n', 1]])]);
    await handler.flush?.();
    assert.equal(h.stdout.lines().length, 1);
    void handler.report?.([log([['n', 2]])]);
    await handler.close?.();
    assert.equal(h.stdout.lines().length, 2);
  });

  it('a severity maps through severityLevels, then the defaults; outputLevel filters', async () => {
    const errorsOnly = stdio.create(
      specReader({ outputLevel: 'ERROR' }),
      h.envFor('errors.stdio.ns'),
    );
    await errorsOnly.report?.([log([], 'info'), log([], 'FATAL'), log([], 'err')]);
    assert.deepEqual(
      h.stdout.lines().map((l) => (JSON.parse(l) as { level: string }).level),
      ['error', 'error'],
    );
  });
});

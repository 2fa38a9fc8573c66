/**
 * The service graph from Mixer's request metrics: totals, rates over the window between two
 * reads (a counter reset counted from zero), 5xx share, and latency quantiles interpolated within
 * a bucket as Prometheus' histogram_quantile does.
 */
import assert from 'node:assert/strict';
import { buildGraph, observe, quantile } from './graph.ts';
import { parsePromText } from './prom-text.ts';

const exposition = (n: number, errors: number, slow: number) => `# HELP request_count request_count
# TYPE request_count counter
request_count{source_service="a.ns.svc.cluster.local",source_version="v1",destination_service="b.ns.svc.cluster.local",destination_version="v1",response_code="200"} ${String(n)}
request_count{source_service="a.ns.svc.cluster.local",source_version="v1",destination_service="b.ns.svc.cluster.local",destination_version="v1",response_code="503"} ${String(errors)}
request_count{source_service="unknown",destination_service="a.ns.svc.cluster.local",response_code="200"} 4
# TYPE request_duration histogram
request_duration_bucket{le="0.01",destination_service="b.ns.svc.cluster.local",response_code="200"} ${String(n + errors - slow)}
request_duration_bucket{le="0.1",destination_service="b.ns.svc.cluster.local",response_code="200"} ${String(n + errors)}
request_duration_bucket{le="+Inf",destination_service="b.ns.svc.cluster.local",response_code="200"} ${String(n + errors)}
request_duration_sum{destination_service="b.ns.svc.cluster.local",response_code="200"} 1.5
`;

describe('dashboard service graph', () => {
  it('reads the text exposition, escapes included', () => {
    const s = parsePromText('x{a="q\\"uo\\\\te",b="line\\nbreak"} 2.5 1700000000\ny +Inf\n# c\n');
    assert.deepEqual(s, [
      { name: 'x', labels: { a: 'q"uo\\te', b: 'line\nbreak' }, value: 2.5 },
      { name: 'y', labels: {}, value: Infinity },
    ]);
    assert.throws(() => parsePromText('x{a=1} 2'), /cannot read labels of "x\{a=1\} 2"/);
  });

  it('has totals before a second read, and rates over the window after it', () => {
    const first = observe(parsePromText(exposition(80, 20, 10)), 0);
    const g1 = buildGraph(first, undefined);
    assert.deepEqual(
      g1.nodes.map((n) => [n.id, n.label, n.requests]),
      [
        ['a.ns.svc.cluster.local', 'a.ns', 4],
        ['b.ns.svc.cluster.local', 'b.ns', 100],
        ['unknown', 'unknown', 0],
      ],
    );
    const ab = g1.edges.find((e) => e.destination === 'b.ns.svc.cluster.local');
    assert.deepEqual([ab?.requests, ab?.errors, ab?.rps, ab?.errorRate], [100, 20, null, 0.2]);
    assert.equal(g1.windowSeconds, null);

    const second = observe(parsePromText(exposition(120, 20, 10)), 2000);
    const g2 = buildGraph(second, first);
    const ab2 = g2.edges.find((e) => e.destination === 'b.ns.svc.cluster.local');
    // 40 more requests in 2 s, none failing; all of them fast.
    assert.deepEqual([ab2?.requests, ab2?.rps, ab2?.errorRate], [140, 20, 0]);
    assert.ok((ab2?.p99 ?? 1) <= 0.01);
    assert.equal(g2.windowSeconds, 2);
  });

  it('counts a reset counter from zero', () => {
    const before = observe(parsePromText(exposition(500, 0, 0)), 0);
    const after = observe(parsePromText(exposition(10, 0, 0)), 1000);
    const e = buildGraph(after, before).edges.find(
      (x) => x.destination === 'b.ns.svc.cluster.local',
    );
    assert.equal(e?.rps, 10);
  });

  it('interpolates quantiles within a bucket, and stops at the highest bound', () => {
    const b = new Map([
      [0.1, 50],
      [0.2, 100],
      [Infinity, 100],
    ]);
    assert.equal(quantile(0.5, b), 0.1);
    assert.ok(Math.abs((quantile(0.75, b) ?? 0) - 0.15) < 1e-9);
    assert.equal(
      quantile(
        0.99,
        new Map([
          [0.1, 1],
          [Infinity, 10],
        ]),
      ),
      0.1,
    );
    assert.equal(quantile(0.5, new Map()), null);
  });
});

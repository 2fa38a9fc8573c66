import assert from 'node:assert/strict';
import { IpAddress, type Value } from '../../lib/mixer/value.ts';
import { Code } from '../adapter.ts';
import { configObjectsFromYaml } from '../config/yaml-objects.ts';
import { exampleObjects, harness, type Harness } from '../testing/harness.ts';
import { dispatchCheck } from './check.ts';
import { dispatchReport } from './report.ts';

function request(
  source: Record<string, string>,
  extra: [string, Value][] = [],
): Map<string, Value> {
  return new Map<string, Value>([
    ['source.labels', new Map(Object.entries(source))],
    [
      'destination.labels',
      new Map([
        ['app', 'ratings'],
        ['version', 'v1'],
      ]),
    ],
    ['destination.service', 'ratings.default.svc.cluster.local'],
    ...extra,
  ]);
}

describe('mixer dispatch with the mixer/examples config', () => {
  let h: Harness;
  beforeEach(async () => {
    h = harness();
    await h.controller.replaceAll(exampleObjects());
  });
  afterEach(async () => {
    await h.controller.close();
  });

  it('loads every example without a problem', () => {
    assert.deepEqual(h.controller.snapshot().problems, []);
    assert.equal(h.controller.snapshot().globalRules.length, 3);
  });

  it('denies reviews v3 with the denier status and lists exactly what it read', async () => {
    await h.controller.replaceAll(
      exampleObjects(['deny.yaml', 'ratelimit.yaml', 'telemetry.yaml']),
    );
    const out = await dispatchCheck(
      h.controller.snapshot(),
      request({ app: 'reviews', version: 'v3' }),
      new Map(),
      '',
    );
    assert.deepEqual(out.status, { code: Code.PERMISSION_DENIED, message: 'Not allowed' });
    assert.deepEqual(out.referenced, [
      { name: 'destination.namespace', condition: 'ABSENCE' },
      { name: 'destination.service', condition: 'EXACT' },
      { name: 'destination.labels', mapKey: 'app', condition: 'EXACT' },
      { name: 'source.labels', mapKey: 'app', condition: 'EXACT' },
      { name: 'source.labels', mapKey: 'version', condition: 'EXACT' },
    ]);
  });

  it('whitelists v1 and v2 only', async () => {
    for (const [version, code] of [
      ['v1', Code.OK],
      ['v2', Code.OK],
      ['v4', Code.NOT_FOUND],
    ] as const) {
      const out = await dispatchCheck(
        h.controller.snapshot(),
        request({ app: 'reviews', version }),
        new Map(),
        '',
      );
      assert.equal(out.status.code, code, version);
    }
  });

  it('charges quota by the first matching override and refuses past it', async () => {
    const asks = new Map([['requestcount', { amount: 1, bestEffort: false }]]);
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const out = await dispatchCheck(
        h.controller.snapshot(),
        request({ app: 'reviews', version: 'v2' }),
        asks,
        `id-${String(i)}`,
      );
      codes.push(out.status.code);
    }
    assert.deepEqual(codes, [0, 0, 0, 0, 0, Code.RESOURCE_EXHAUSTED, Code.RESOURCE_EXHAUSTED]);
  });

  it('reports metrics and the access log', async () => {
    const bag = request({ app: 'reviews', version: 'v2' }, [
      ['source.service', 'reviews.default.svc.cluster.local'],
      ['response.code', 200],
      ['source.ip', IpAddress.parse('10.0.0.9') as IpAddress],
    ]);
    const out = await dispatchReport(h.controller.snapshot(), [bag, bag]);
    assert.deepEqual(out.failures, []);
    assert.equal(out.instances, 6);
    const text = await h.metrics.metrics();
    assert.match(
      text,
      /request_count\{source_service="reviews.default.svc.cluster.local",source_version="v2",destination_service="ratings.default.svc.cluster.local",destination_version="v1",response_code="200"\} 2/,
    );
    const lines = h.stdout.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    assert.equal(lines[0]?.['sourceIp'], '10.0.0.9');
    assert.equal(lines[0]['instance'], 'accesslog.logentry.istio-system');
  });

  it('reports a rule that does not type-check, skips it and keeps the rest', async () => {
    const bad = configObjectsFromYaml(
      `apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: broken, namespace: istio-system}
spec:
  match: source.labels["app"] == 3
  actions: [{handler: handler.memquota, instances: [requestcount.quota]}]
`,
      'broken.yaml',
      'default',
    );
    await h.controller.replaceAll([...exampleObjects(), ...bad]);
    const problems = h.controller.snapshot().problems;
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.name, 'broken');
    assert.match(
      problems[0].message,
      /spec\.match: .*"==" needs one type on both sides, got STRING and INT64/,
    );
    const out = await dispatchCheck(
      h.controller.snapshot(),
      request({ app: 'reviews', version: 'v3' }),
      new Map(),
      '',
    );
    // Rules run in name order: the whitelist (checkversion) answers before the denier.
    assert.deepEqual(out.status, { code: Code.NOT_FOUND, message: 'v3 is not whitelisted' });
    const ok = await dispatchCheck(
      h.controller.snapshot(),
      request({ app: 'reviews', version: 'v1' }),
      new Map(),
      '',
    );
    assert.equal(ok.status.code, Code.OK);
  });
});

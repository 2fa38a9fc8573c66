/**
 * Templates modules add, of each variety: report instances reach `reportCustom` batched per
 * handler beside the built-in ones, quota instances `quotaCustom` with the requested amount, an
 * absent attribute fails the instance like a built-in one; typed values, defaults, optional and
 * map fields as the template declares them.
 */
import assert from 'node:assert/strict';
import { IpAddress, type Value } from '../../lib/mixer/value.ts';
import type { Adapter, ReportInstance, Template, TemplateInstance } from '../adapter.ts';
import { Code } from '../adapter.ts';
import { dispatchCheck } from '../dispatch/check.ts';
import { dispatchReport } from '../dispatch/report.ts';
import { harness, type Harness } from '../testing/harness.ts';
import { configObjectsFromYaml } from './yaml-objects.ts';

const auditevent: Template = {
  name: 'auditevent',
  description: 'One audited request.',
  variety: 'report',
  fields: {
    who: { type: 'STRING', default: 'source.user | "unknown"' },
    client: { type: 'IP_ADDRESS', optional: true },
    took: { type: 'DURATION', optional: true },
    code: { type: 'INT64' },
    tags: { type: 'STRING', map: true },
  },
};

const tokens: Template = {
  name: 'tokens',
  description: 'Tokens per caller.',
  variety: 'quota',
  fields: { caller: { type: 'STRING' } },
};

const seen: { reported: TemplateInstance[][]; builtin: ReportInstance[][]; quota: unknown[] } = {
  reported: [],
  builtin: [],
  quota: [],
};

const recorder: Adapter = {
  name: 'recorder',
  description: 'Keeps what it gets.',
  templates: ['auditevent', 'tokens', 'metric'],
  create(spec) {
    spec.done();
    return {
      report(instances) {
        seen.builtin.push([...instances]);
      },
      reportCustom(instances) {
        seen.reported.push([...instances]);
      },
      quotaCustom(instance, args) {
        seen.quota.push([instance.values.get('caller'), args.amount]);
        return { granted: Math.min(args.amount, 3), validDurationMs: 1000 };
      },
    };
  },
};

const config = `
apiVersion: config.istio.io/v1alpha2
kind: auditevent
metadata: { name: audit, namespace: istio-system }
spec:
  client: source.ip
  code: response.code
  tags: { path: request.path | "" }
---
apiVersion: config.istio.io/v1alpha2
kind: tokens
metadata: { name: perclient, namespace: istio-system }
spec: { caller: source.user | "anonymous" }
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: count, namespace: istio-system }
spec: { value: "1" }
---
apiVersion: config.istio.io/v1alpha2
kind: recorder
metadata: { name: rec, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: all, namespace: istio-system }
spec:
  actions:
    - handler: rec.recorder
      instances: [audit.auditevent, perclient.tokens, count.metric]
`;

describe('templates a module adds', () => {
  let h: Harness;
  beforeEach(async () => {
    seen.reported = [];
    seen.builtin = [];
    seen.quota = [];
    h = harness({ extraAdapters: [recorder], extraTemplates: [auditevent, tokens] });
    await h.controller.replaceAll(configObjectsFromYaml(config, 'config.yaml', 'istio-system'));
  });
  afterEach(async () => {
    await h.controller.close();
  });

  it('report: one reportCustom call per request with typed values, defaults and maps', async () => {
    assert.deepEqual(h.controller.snapshot().problems, []);
    const sets: Map<string, Value>[] = [
      new Map<string, Value>([
        ['source.ip', IpAddress.parse('10.0.0.7') as IpAddress],
        ['response.code', 503],
        ['request.path', '/a'],
        ['source.user', 'alice'],
      ]),
      new Map<string, Value>([
        ['source.ip', IpAddress.parse('10.0.0.8') as IpAddress],
        ['response.code', 200],
      ]),
      new Map<string, Value>([['request.path', '/no-code']]),
    ];
    const out = await dispatchReport(h.controller.snapshot(), sets);
    assert.equal(seen.reported.length, 1);
    const [a, b] = seen.reported[0] ?? [];
    assert.ok(a && b);
    assert.equal(a.template, 'auditevent');
    assert.equal(a.name, 'audit.auditevent.istio-system');
    assert.equal(a.values.get('who'), 'alice');
    const client = a.values.get('client');
    assert.ok(client instanceof IpAddress);
    assert.equal(client.toString(), '10.0.0.7');
    assert.equal(a.values.get('code'), 503);
    assert.equal(a.values.has('took'), false, 'optional and left out');
    assert.deepEqual([...(a.maps.get('tags') ?? [])], [['path', '/a']]);
    assert.equal(b.values.get('who'), 'unknown');
    // The third set has no response.code and no source.ip: its instance fails, like a built-in one.
    assert.equal(seen.reported[0]?.length, 2);
    assert.equal(out.instanceErrors.length, 1);
    assert.match(out.instanceErrors[0] ?? '', /audit\.auditevent\.istio-system: client/);
    // The built-in metric went to report() in the same call round.
    assert.equal(seen.builtin[0]?.length, 3);
  });

  it('quota: quotaCustom gets the instance and the amount; the grant answers the Check', async () => {
    const out = await dispatchCheck(
      h.controller.snapshot(),
      new Map<string, Value>([['source.user', 'bob']]),
      new Map([['perclient', { amount: 5, bestEffort: false }]]),
      'dedup-1',
    );
    assert.deepEqual(seen.quota, [['bob', 5]]);
    assert.equal(out.quotas.get('perclient')?.granted, 3);
    assert.equal(out.status.code, Code.RESOURCE_EXHAUSTED);
  });

  it('an adapter that does not take the template is refused in the rule, naming both', async () => {
    await h.controller.replaceAll(
      configObjectsFromYaml(
        `${config}---
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: { name: no, namespace: istio-system }
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: wrong, namespace: istio-system }
spec:
  actions:
    - handler: no.denier
      instances: [audit.auditevent]
`,
        'config.yaml',
        'istio-system',
      ),
    );
    const problems = h.controller.snapshot().problems.map((p) => p.message);
    assert.ok(
      problems.some((m) =>
        /handler no\.denier\.istio-system \(denier\) takes .*not auditevent/.test(m),
      ),
      problems.join('\n'),
    );
  });
});

import assert from 'node:assert/strict';
import { refKey, type AttributeRef } from '../lib/mixer/referenced.ts';
import { Duration, IpAddress, type Value } from '../lib/mixer/value.ts';
import { MixerCore } from './core.ts';
import { defaultCheckPolicy } from './dispatch/check.ts';
import { createMixerMetrics } from './metrics.ts';
import { exampleObjects, harness, type Harness } from './testing/harness.ts';
import {
  withWorkloadAttributes,
  type Workload,
  type WorkloadLookup,
} from './workload-attributes.ts';

const pods = new Map<string, Workload>([
  ['10.0.0.3', pod('reviews-v3-1', { app: 'reviews', version: 'v3' }, 'bookinfo-reviews')],
  ['10.0.0.1', pod('reviews-v1-1', { app: 'reviews', version: 'v1' }, 'bookinfo-reviews')],
  ['10.0.0.9', pod('ratings-v1-1', { app: 'ratings', version: 'v1' }, 'bookinfo-ratings')],
]);
const lookup: WorkloadLookup = { byIp: (ip) => pods.get(ip) };

function pod(name: string, labels: Record<string, string>, serviceAccount: string): Workload {
  return { name, namespace: 'default', labels: new Map(Object.entries(labels)), serviceAccount };
}

function bag(entries: Record<string, Value>): Map<string, Value> {
  return new Map(Object.entries(entries));
}

const ip = (s: string) => IpAddress.parse(s) ?? assert.fail(s);

async function setup(
  withLookup: boolean,
  files: Parameters<typeof exampleObjects>[0] = ['deny.yaml', 'telemetry.yaml'],
): Promise<{ core: MixerCore; h: Harness }> {
  const h = harness();
  await h.controller.replaceAll(exampleObjects(files));
  const core = new MixerCore({
    controller: h.controller,
    policy: defaultCheckPolicy,
    metrics: createMixerMetrics(h.metrics),
    logger: h.logger,
    ...(withLookup ? { workloads: lookup } : {}),
  });
  return { core, h };
}

const core = async (withLookup: boolean) => (await setup(withLookup)).core;

const keys = (refs: readonly AttributeRef[]) => refs.map((r) => `${refKey(r)}:${r.condition}`);

describe('mixer: workload attributes from the pod registry', () => {
  it('fills labels, name, namespace, uid and serviceAccount from the pod at each IP', () => {
    const { bag: b } = withWorkloadAttributes(
      bag({ 'source.ip': ip('10.0.0.3'), 'destination.ip': ip('10.0.0.9') }),
      lookup,
    );
    assert.deepEqual(
      b.get('source.labels'),
      new Map([
        ['app', 'reviews'],
        ['version', 'v3'],
      ]),
    );
    assert.equal(b.get('source.name'), 'reviews-v3-1');
    assert.equal(b.get('source.namespace'), 'default');
    assert.equal(b.get('source.uid'), 'kubernetes://reviews-v3-1.default');
    assert.equal(b.get('source.serviceAccount'), 'bookinfo-reviews');
    assert.equal(b.get('destination.name'), 'ratings-v1-1');
  });

  it('keeps what the request carried, and the request itself', () => {
    const original = bag({
      'source.ip': ip('10.0.0.3'),
      'source.labels': new Map([['version', 'v1']]),
    });
    const { bag: b } = withWorkloadAttributes(original, lookup);
    assert.deepEqual(b.get('source.labels'), new Map([['version', 'v1']]));
    assert.equal(b.get('source.name'), 'reviews-v3-1');
    assert.equal(original.has('source.name'), false, 'the input bag is not modified');
  });

  it("denies Istio 0.2's reviews v3 -> ratings rule on IPs alone, and only for v3", async () => {
    const c = await core(true);
    const v3 = await c.check(
      'ext_authz',
      bag({ 'source.ip': ip('10.0.0.3'), 'destination.ip': ip('10.0.0.9') }),
      new Map(),
      'a',
    );
    assert.equal(v3.status.code, 7, v3.status.message);
    const v1 = await c.check(
      'ext_authz',
      bag({ 'source.ip': ip('10.0.0.1'), 'destination.ip': ip('10.0.0.9') }),
      new Map(),
      'b',
    );
    assert.equal(v1.status.code, 0);
    const without = await (
      await core(false)
    ).check(
      'ext_authz',
      bag({ 'source.ip': ip('10.0.0.3'), 'destination.ip': ip('10.0.0.9') }),
      new Map(),
      'c',
    );
    assert.equal(without.status.code, 0, 'without the registry nothing names the pods');
  });

  it('answers with references to the IPs, never to attributes the caller did not send', async () => {
    const c = await core(true);
    const out = await c.check(
      'ext_authz',
      bag({ 'source.ip': ip('10.0.0.3'), 'destination.ip': ip('10.0.0.9') }),
      new Map(),
      'a',
    );
    const refs = keys(out.referenced);
    assert.ok(refs.includes('source.ip:EXACT'), refs.join());
    assert.ok(refs.includes('destination.ip:EXACT'), refs.join());
    assert.ok(
      !refs.some((r) => /^(source|destination)\.(labels|namespace|name|uid)/.test(r)),
      refs.join(),
    );

    const noIp = await c.check(
      'ext_authz',
      bag({ 'destination.ip': ip('10.0.0.9') }),
      new Map(),
      'b',
    );
    assert.ok(keys(noIp.referenced).includes('source.ip:ABSENCE'), keys(noIp.referenced).join());
    const unknown = await c.check(
      'ext_authz',
      bag({ 'source.ip': ip('10.9.9.9'), 'destination.ip': ip('10.0.0.9') }),
      new Map(),
      'c',
    );
    assert.equal(unknown.status.code, 0);
    assert.ok(
      keys(unknown.referenced).includes('source.ip:EXACT'),
      keys(unknown.referenced).join(),
    );
  });

  it('reports the filled-in attributes to telemetry', async () => {
    const { core: c, h } = await setup(true);
    await c.report('als', [
      bag({
        'source.ip': ip('10.0.0.3'),
        'destination.ip': ip('10.0.0.9'),
        'destination.service': 'ratings.default.svc.cluster.local',
        'request.path': '/ratings/0',
        'response.code': 200,
        'response.duration': new Duration(12),
      }),
    ]);
    await h.controller.flush();
    const text = await h.metrics.metrics();
    assert.match(text, /source_version="v3"/, text.slice(0, 2000));
  });

  it('enriches each reported set as it is handed out (decoders reuse one Map)', async () => {
    const { core: c, h } = await setup(true, ['telemetry.yaml']);
    const shared = new Map<string, Value>();
    const base = {
      'destination.ip': ip('10.0.0.9'),
      'destination.service': 'ratings.default.svc.cluster.local',
      'response.code': 200,
      'response.duration': new Duration(3),
    };
    const sets = {
      length: 2,
      *[Symbol.iterator]() {
        for (const source of ['10.0.0.3', '10.0.0.1']) {
          shared.clear();
          for (const [k, v] of Object.entries(base)) shared.set(k, v);
          shared.set('source.ip', ip(source));
          yield shared;
        }
      },
    };
    await c.report('als', sets);
    await h.controller.flush();
    const text = await h.metrics.metrics();
    assert.match(text, /source_version="v3"/);
    assert.match(text, /source_version="v1"/, 'not the last set twice');
  });
});

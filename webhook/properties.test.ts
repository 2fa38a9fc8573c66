import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isObject, nameOf, type JsonObject, type JsonValue } from '../lib/json.ts';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import { defaultInjectorConfig } from './config.ts';
import { injectObject, type InjectContext } from './engine.ts';
import { applyPatch, createPatch } from './patch.ts';

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).filter((n) => !n.startsWith('istio'));
const port = fc.integer({ min: 1, max: 65535 });

const probe: fc.Arbitrary<JsonObject | undefined> = fc.oneof(
  fc.constant(undefined),
  port.map((p) => ({ httpGet: { path: '/h', port: p }, periodSeconds: 3 })),
  port.map((p) => ({ tcpSocket: { port: p } })),
  port.map((p) => ({ grpc: { port: p } })),
  fc.constant<JsonObject>({ exec: { command: ['true'] } }),
);

const container = fc
  .record({ name, image: fc.constantFrom('a:1', 'b:2'), readiness: probe, liveness: probe })
  .map(({ name, image, readiness, liveness }) => {
    const c: JsonObject = { name, image };
    if (readiness) c['readinessProbe'] = readiness;
    if (liveness) c['livenessProbe'] = liveness;
    return c;
  });

const uniqueByName = (arb: fc.Arbitrary<JsonObject>, min: number, max: number) =>
  fc.uniqueArray(arb, { minLength: min, maxLength: max, selector: (c) => c['name'] });

const podArb = fc
  .record({
    containers: uniqueByName(container, 1, 4),
    inits: uniqueByName(
      container.map((c) => ({ name: c['name'] ?? 'x', image: 'i:1' })),
      0,
      2,
    ),
    volumes: uniqueByName(
      name.map((n) => ({ name: n, emptyDir: {} })),
      0,
      3,
    ),
    labels: fc.dictionary(fc.constantFrom('app', 'version', 'tier'), name),
    native: fc.constantFrom('true', 'false', undefined),
    hold: fc.boolean(),
  })
  .map(({ containers, inits, volumes, labels, native, hold }) => {
    const annotations: Record<string, string> = {};
    if (native !== undefined) annotations['sidecar.istio.io/nativeSidecar'] = native;
    if (hold) annotations['proxy.istio.io/config'] = 'holdApplicationUntilProxyStarts: true';
    const spec: JsonObject = { containers };
    if (inits.length > 0) spec['initContainers'] = inits;
    if (volumes.length > 0) spec['volumes'] = volumes;
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels, annotations }, spec };
  });

const ctx: InjectContext = {
  config: defaultInjectorConfig,
  mesh: defaultMeshConfig,
  namespaceLabels: { 'istio-injection': 'enabled' },
  namespace: 'default',
};

function specOf(v: JsonValue): JsonObject {
  assert.ok(isObject(v) && isObject(v['spec']));
  return v['spec'];
}

function names(list: JsonValue | undefined): string[] {
  return Array.isArray(list) ? list.map(nameOf) : [];
}

const notIstio = (n: string) => !n.startsWith('istio-');

describe('injection properties (generated pods)', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(podArb, (pod) => {
        const once = injectObject(pod, ctx).object;
        assert.deepEqual(injectObject(once, ctx).object, once);
      }),
    );
  });

  it('adds exactly one istio-proxy and one istio-init', () => {
    fc.assert(
      fc.property(podArb, (pod) => {
        const s = specOf(injectObject(pod, ctx).object);
        const all = [...names(s['initContainers']), ...names(s['containers'])];
        assert.equal(all.filter((n) => n === 'istio-proxy').length, 1);
        assert.equal(all.filter((n) => n === 'istio-init').length, 1);
      }),
    );
  });

  it("keeps the user's containers, init containers and volumes, in order", () => {
    fc.assert(
      fc.property(podArb, (pod) => {
        const before = specOf(pod);
        const after = specOf(injectObject(pod, ctx).object);
        assert.deepEqual(names(after['containers']).filter(notIstio), names(before['containers']));
        assert.deepEqual(
          names(after['initContainers']).filter(notIstio),
          names(before['initContainers']),
        );
        const vols = names(after['volumes']);
        assert.deepEqual(vols.slice(0, names(before['volumes']).length), names(before['volumes']));
        // The user's images are untouched.
        const images = (list: JsonValue | undefined) =>
          Array.isArray(list)
            ? list
                .filter((c) => isObject(c) && notIstio(nameOf(c)))
                .map((c) => isObject(c) && c['image'])
            : [];
        assert.deepEqual(images(after['containers']), images(before['containers']));
      }),
    );
  });

  it('gives a JSON Patch that turns the original into the injected pod', () => {
    fc.assert(
      fc.property(podArb, (pod) => {
        const injected = injectObject(pod, ctx).object;
        assert.deepEqual(applyPatch(pod, createPatch(pod, injected)), injected);
      }),
    );
  });

  it('escapes "/" in annotation keys as ~1 in patch paths', () => {
    const pod: JsonObject = {
      kind: 'Pod',
      metadata: { name: 'p', annotations: { 'a~b/c': 'x' } },
      spec: { containers: [{ name: 'app' }] },
    };
    const patch = createPatch(pod, injectObject(pod, ctx).object);
    const paths = patch.map((op) => op.path);
    assert.ok(paths.includes('/metadata/annotations/sidecar.istio.io~1status'), paths.join(' '));
  });
});

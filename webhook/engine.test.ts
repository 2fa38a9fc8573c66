import assert from 'node:assert/strict';
import { isObject, nameOf, type JsonObject, type JsonValue } from '../lib/json.ts';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import { defaultInjectorConfig, type InjectorConfig } from './config.ts';
import { injectObject, type InjectContext } from './engine.ts';

const ctx = (over: Partial<InjectContext> = {}): InjectContext => ({
  config: defaultInjectorConfig,
  mesh: defaultMeshConfig,
  namespaceLabels: { 'istio-injection': 'enabled' },
  namespace: 'default',
  ...over,
});

function pod(annotations: Record<string, string> = {}, extra: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', annotations },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'app:1',
          readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
        },
      ],
      ...extra,
    },
  };
}

function spec(v: JsonValue): JsonObject {
  assert.ok(isObject(v) && isObject(v['spec']));
  return v['spec'];
}

function names(list: JsonValue | undefined): string[] {
  return Array.isArray(list) ? list.map(nameOf) : [];
}

describe('injection engine', () => {
  it('never modifies its input', () => {
    const input = pod();
    const before = JSON.stringify(input);
    injectObject(input, ctx());
    assert.equal(JSON.stringify(input), before);
  });

  it('passes kinds without a pod through untouched', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } };
    const r = injectObject(cm, ctx());
    assert.equal(r.object, cm);
    assert.equal(r.pods.length, 0);
  });

  it('finds the pod template of a CronJob', () => {
    const cron = {
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a' }] } } } } },
    };
    const r = injectObject(cron, ctx());
    assert.equal(r.pods[0]?.decision.inject, true);
    assert.match(JSON.stringify(r.object), /istio-proxy/);
  });

  it('treats a pod with istio-init and istio-proxy but no status annotation as injected', () => {
    const p = pod({}, { initContainers: [{ name: 'istio-init' }] });
    (spec(p)['containers'] as JsonObject[]).push({ name: 'istio-proxy' });
    const r = injectObject(p, ctx());
    assert.deepEqual(r.pods[0]?.decision, { inject: false, reason: 'already_injected' });
    assert.deepEqual(names(spec(r.object)['containers']), ['app', 'istio-proxy']);
  });

  it('uses native sidecars from Kubernetes 1.29 with nativeSidecars: auto', () => {
    const classic = injectObject(pod(), ctx({ kubernetesVersion: { major: 1, minor: 28 } })).object;
    assert.deepEqual(names(spec(classic)['initContainers']), ['istio-init']);
    assert.deepEqual(names(spec(classic)['containers']), ['app', 'istio-proxy']);
    const native = injectObject(pod(), ctx({ kubernetesVersion: { major: 1, minor: 29 } })).object;
    assert.deepEqual(names(spec(native)['initContainers']), ['istio-init', 'istio-proxy']);
    assert.deepEqual(names(spec(native)['containers']), ['app']);
  });

  it('lets the nativeSidecar annotation override the config', () => {
    const config: InjectorConfig = { ...defaultInjectorConfig, nativeSidecars: 'true' };
    const r = injectObject(pod({ 'sidecar.istio.io/nativeSidecar': 'false' }), ctx({ config }));
    assert.deepEqual(names(spec(r.object)['containers']), ['app', 'istio-proxy']);
  });

  it('keeps probes when sidecar.istio.io/rewriteAppHTTPProbers is false', () => {
    const r = injectObject(pod({ 'sidecar.istio.io/rewriteAppHTTPProbers': 'false' }), ctx());
    assert.doesNotMatch(JSON.stringify(r.object), /app-health|ISTIO_KUBE_APP_PROBERS/);
  });

  it('leaves a probe on a missing named port alone, with a warning', () => {
    const p = pod();
    (spec(p)['containers'] as JsonObject[])[0] = {
      name: 'app',
      readinessProbe: { httpGet: { path: '/', port: 'nope' } },
    };
    const r = injectObject(p, ctx());
    assert.match(r.pods[0]?.warnings[0] ?? '', /port "nope" not found/);
    assert.doesNotMatch(JSON.stringify(r.object), /app-health/);
  });

  const badAnnotations: [string, Record<string, string>, RegExp][] = [
    [
      'an invalid CIDR',
      { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/33' },
      /annotation traffic\.sidecar\.istio\.io\/excludeOutboundIPRanges: "10\.0\.0\.0\/33" has an invalid prefix length/,
    ],
    [
      'a port out of range',
      { 'traffic.sidecar.istio.io/excludeInboundPorts': '80,70000' },
      /annotation traffic\.sidecar\.istio\.io\/excludeInboundPorts: "70000" is not a port/,
    ],
    [
      'a bad CPU quantity',
      { 'sidecar.istio.io/proxyCPU': 'lots' },
      /annotation sidecar\.istio\.io\/proxyCPU: "lots" is not a Kubernetes quantity/,
    ],
    [
      'an unknown proxy config field',
      { 'proxy.istio.io/config': 'holdApplication: true' },
      /annotation proxy\.istio\.io\/config: holdApplication: unknown field/,
    ],
    [
      'a non-boolean nativeSidecar',
      { 'sidecar.istio.io/nativeSidecar': 'sometimes' },
      /annotation sidecar\.istio\.io\/nativeSidecar: must be "true" or "false"/,
    ],
  ];
  for (const [name, ann, want] of badAnnotations) {
    it(`refuses ${name} with an error naming the annotation`, () => {
      assert.throws(() => injectObject(pod(ann), ctx()), want);
    });
  }

  it('names the field of a malformed pod', () => {
    const p = { kind: 'Pod', metadata: { name: 'x' }, spec: { containers: 'nope' } };
    assert.throws(
      () => injectObject(p, ctx()),
      /Pod x: spec\.containers must be a list of containers/,
    );
  });

  it('names the missing template of a Deployment', () => {
    const d = { kind: 'Deployment', metadata: { name: 'd', namespace: 'n' }, spec: {} };
    assert.throws(() => injectObject(d, ctx()), /Deployment n\/d: spec\.template is missing/);
  });

  it('names labels that are not strings', () => {
    const p = pod();
    (p['metadata'] as JsonObject)['labels'] = { a: 1 };
    assert.throws(() => injectObject(p, ctx()), /metadata\.labels must be a map of strings/);
  });

  it('does not add a volume the user already declared under the same name', () => {
    const p = pod({}, { volumes: [{ name: 'istio-certs', secret: { secretName: 'mine' } }] });
    const r = injectObject(p, ctx());
    const vols = spec(r.object)['volumes'];
    assert.deepEqual(names(vols), ['istio-certs', 'istio-envoy']);
    assert.match(JSON.stringify(vols), /"secretName":"mine"/);
  });

  it('uses the namespace of the object over the context namespace', () => {
    const p = pod();
    (p['metadata'] as JsonObject)['namespace'] = 'kube-system';
    assert.deepEqual(injectObject(p, ctx()).pods[0]?.decision, {
      inject: false,
      reason: 'system_namespace',
    });
  });
});

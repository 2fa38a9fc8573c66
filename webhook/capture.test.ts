import assert from 'node:assert/strict';
import { isObject, type JsonObject, type JsonValue } from '../lib/json.ts';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import { captureForPod, initArgs } from './capture.ts';
import { defaultInjectorConfig, type InjectorConfig } from './config.ts';
import { injectObject } from './engine.ts';

const pod = (annotations: Record<string, string> = {}): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', annotations },
  spec: { containers: [{ name: 'web', image: 'nginx' }] },
});

/** The istio-init arguments the engine gives `p` under `config`. */
function argsOf(config: InjectorConfig, p: JsonObject): JsonValue {
  const out = injectObject(p, {
    config,
    mesh: defaultMeshConfig,
    namespaceLabels: { 'istio-injection': 'enabled' },
    namespace: 'default',
  }).object;
  const spec = isObject(out) && isObject(out['spec']) ? out['spec'] : {};
  const inits = Array.isArray(spec['initContainers']) ? spec['initContainers'] : [];
  const init = inits.find((c) => isObject(c) && c['name'] === 'istio-init');
  return isObject(init) ? (init['args'] ?? null) : null;
}

const flag = (args: JsonValue, f: string): JsonValue | undefined =>
  Array.isArray(args) ? args[args.indexOf(f) + 1] : undefined;

describe('capture arguments (made once per config)', () => {
  it('gives a new array each time: a pod that changes its copy changes no other pod', () => {
    const spec = defaultInjectorConfig.capture;
    const first = initArgs(spec, 1337, 1337);
    first.push('--mutated');
    assert.equal(initArgs(spec, 1337, 1337).includes('--mutated'), false);
    assert.notEqual(initArgs(spec, 1, 1), initArgs(spec, 1, 1));
    assert.equal(flag(initArgs(spec, 7, 8), '-u'), '7');
  });

  it('follows a config change, and back', () => {
    const changed: InjectorConfig = {
      ...defaultInjectorConfig,
      capture: {
        ...defaultInjectorConfig.capture,
        excludeInboundPorts: '9090',
        includeOutboundIPRanges: '10.0.0.0/8',
      },
      proxy: { ...defaultInjectorConfig.proxy, uid: 1500, gid: 1501 },
    };
    const before = argsOf(defaultInjectorConfig, pod());
    const after = argsOf(changed, pod());
    assert.equal(flag(after, '-i'), '10.0.0.0/8');
    assert.match(JSON.stringify(flag(after, '-d')), /,9090"$/);
    assert.equal(flag(after, '-u'), '1500');
    assert.equal(flag(after, '-g'), '1501');
    assert.notDeepEqual(after, before);
    assert.deepEqual(argsOf(defaultInjectorConfig, pod()), before);
  });

  it("applies a pod's capture annotations to that pod only", () => {
    const annotated = pod({ 'traffic.sidecar.istio.io/includeOutboundIPRanges': '192.168.0.0/16' });
    assert.equal(flag(argsOf(defaultInjectorConfig, annotated), '-i'), '192.168.0.0/16');
    assert.equal(
      flag(argsOf(defaultInjectorConfig, pod()), '-i'),
      defaultInjectorConfig.capture.includeOutboundIPRanges,
    );
    assert.equal(captureForPod(defaultInjectorConfig.capture, {}), defaultInjectorConfig.capture);
  });
});

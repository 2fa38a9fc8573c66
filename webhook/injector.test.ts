import assert from 'node:assert/strict';
import { createLogger } from '../lib/log.ts';
import { createRegistry } from '../lib/metrics.ts';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import type { AdmissionRequest } from './admission-review.ts';
import { defaultInjectorConfig, type InjectorConfig } from './config.ts';
import { createInjector } from './injector.ts';
import { createWebhookMetrics } from './metrics.ts';

function request(namespace: string, over: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'u',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    operation: 'CREATE',
    namespace,
    name: 'p',
    object: { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a' }] } },
    dryRun: false,
    ...over,
  };
}

describe('the injector as an AdmissionHandler: its metrics and logs', () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('injector-test', {
    level: 'info',
    destination: {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  const registry = createRegistry('injector_test', false);
  const injector = createInjector(
    {
      config: () => defaultInjectorConfig,
      mesh: () => defaultMeshConfig,
      namespaceLabels: (ns) => {
        if (ns === 'broken') return Promise.reject(new Error('cache exploded'));
        return Promise.resolve(ns === 'shop' ? { 'istio-injection': 'enabled' } : {});
      },
      kubernetesVersion: () => undefined,
      failureMode: 'deny',
    },
    createWebhookMetrics(registry),
  );
  const admit = (req: AdmissionRequest) =>
    injector.admit(req, { log, receivedAt: process.hrtime.bigint() });

  it('counts and logs each answer under the sidecar_injection_* names', async () => {
    assert.equal((await admit(request('shop'))).allowed, true);
    assert.equal((await admit(request('other'))).allowed, true);
    assert.equal(
      (await admit(request('shop', { kind: { group: '', version: 'v1', kind: 'Service' } })))
        .allowed,
      true,
    );
    assert.equal((await admit(request('broken'))).allowed, false);
    injector.rejected?.({ status: 400, message: 'bad', seconds: 0.001 });

    const m = await registry.metrics();
    for (const series of [
      'sidecar_injection_requests_total{result="injected"} 1',
      'sidecar_injection_requests_total{result="skipped"} 1',
      'sidecar_injection_requests_total{result="not_a_pod"} 1',
      'sidecar_injection_requests_total{result="error"} 1',
      'sidecar_injection_requests_total{result="bad_request"} 1',
      'sidecar_injection_success_total{reason="namespace_enabled"} 1',
      'sidecar_injection_skip_total{reason="namespace_not_enabled"} 1',
      'sidecar_injection_failure_total{code="ISTIO_LITE_ERR_INTERNAL"} 1',
      'sidecar_injection_failure_total{code="bad_request"} 1',
      'sidecar_injection_time_seconds_count 5',
    ]) {
      assert.ok(m.includes(series), `${series} in\n${m}`);
    }

    const admissions = lines.filter((l) => l['msg'] === 'admission');
    assert.deepEqual(
      admissions.map((l) => [
        l['uid'],
        l['namespace'],
        l['name'],
        l['result'],
        l['reason'],
        l['allowed'],
        typeof l['ms'],
      ]),
      [
        ['u', 'shop', 'p', 'inject', 'namespace_enabled', true, 'number'],
        ['u', 'other', 'p', 'skip', 'namespace_not_enabled', true, 'number'],
        ['u', 'shop', 'p', 'not-a-pod', undefined, true, 'number'],
        ['u', 'broken', 'p', 'error', undefined, false, 'number'],
      ],
    );
    const failed = lines.find((l) => l['msg'] === 'injection failed');
    assert.equal(failed?.['namespace'], 'broken', 'the failure names the request');
  });

  it("reuses the answer for a ReplicaSet's identical pods, counted and logged each time, until the config changes", async () => {
    let config: InjectorConfig = defaultInjectorConfig;
    const reg = createRegistry('injector_memo_test', false);
    const own = createInjector(
      {
        config: () => config,
        mesh: () => defaultMeshConfig,
        namespaceLabels: () => Promise.resolve({ 'istio-injection': 'enabled' }),
        kubernetesVersion: () => undefined,
        failureMode: 'deny',
      },
      createWebhookMetrics(reg),
    );
    const before = lines.length;
    const rsPod = () =>
      request('shop', {
        uid: `u-${String(Math.random())}`,
        name: '',
        object: {
          kind: 'Pod',
          metadata: { generateName: 'web-7d9-', labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'web:1' }] },
        },
      });
    const ctx = () => ({ log, receivedAt: process.hrtime.bigint() });
    const first = await own.admit(rsPod(), ctx());
    const second = await own.admit(rsPod(), ctx());
    const third = await own.admit(rsPod(), ctx());
    assert.ok(first.allowed && second.allowed && third.allowed);
    assert.notEqual(second, first, 'kept from the second sighting on');
    assert.deepEqual(second, first);
    assert.equal(third, second, 'the same answer, not worked out again');
    assert.ok(
      (await reg.metrics()).includes('sidecar_injection_requests_total{result="injected"} 3'),
    );
    assert.equal(lines.slice(before).filter((l) => l['msg'] === 'admission').length, 3);

    config = {
      ...defaultInjectorConfig,
      proxy: { ...defaultInjectorConfig.proxy, image: 'proxy:2' },
    };
    const reloaded = await own.admit(rsPod(), ctx());
    assert.notEqual(reloaded, second);
    assert.ok(reloaded.allowed);
    assert.match(JSON.stringify(reloaded.patch), /proxy:2/, 'the reloaded config is used');
  });
});

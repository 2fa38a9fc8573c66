import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { createLogger } from '../lib/log.ts';
import { createRegistry } from '../lib/metrics.ts';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import { opensslServingCerts, type TestCerts } from '../lib/testing/openssl-certs.ts';
import { applyPatch, type Operation } from './patch.ts';
import { defaultInjectorConfig } from './config.ts';
import { createInjector, type FailureMode } from './injector.ts';
import { createWebhookMetrics } from './metrics.ts';
import { startWebhookServer, type WebhookServer } from './server.ts';
import { get, post, responseOf, review } from './testing/test-client.ts';
import { memoryTlsSource, type MemoryTlsSource } from './tls-source.ts';
import type { JsonObject } from '../lib/json.ts';

const logger = createLogger('webhook-test', { level: 'silent' });

const pod: JsonObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'web-', labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'nginx' }] },
};

describe('webhook server', () => {
  let certs: TestCerts;
  let tls: MemoryTlsSource;
  let server: WebhookServer;
  let failureMode: FailureMode = 'deny';
  let explode = false;
  const registry = createRegistry('webhook_test', false);

  before(async () => {
    certs = opensslServingCerts();
    const injector = createInjector(
      {
        config: () => {
          if (explode) throw new Error('config store exploded');
          return defaultInjectorConfig;
        },
        mesh: () => defaultMeshConfig,
        namespaceLabels: (ns) =>
          Promise.resolve(ns === 'shop' ? { 'istio-injection': 'enabled' } : {}),
        kubernetesVersion: () => undefined,
        get failureMode() {
          return failureMode;
        },
      },
      createWebhookMetrics(registry),
    );
    tls = memoryTlsSource(certs, logger);
    server = await startWebhookServer(
      {
        handler: injector,
        tls,
        registry,
        logger,
        ready: () => undefined,
        bodyLimitBytes: 64 * 1024,
      },
      0,
      '127.0.0.1',
    );
  });
  after(async () => {
    await server.close();
  });

  it('injects a pod in a labelled namespace: a JSON Patch that applies', async () => {
    const r = await post(server.port, certs.caCert, JSON.stringify(review(pod)));
    assert.equal(r.status, 200);
    const res = responseOf(r.body);
    assert.equal(res['uid'], 'uid-1');
    assert.equal(res['allowed'], true);
    assert.equal(res['patchType'], 'JSONPatch');
    assert.equal(typeof res['patch'], 'string');
    const patch = JSON.parse(
      Buffer.from(res['patch'] as string, 'base64').toString(),
    ) as Operation[];
    const injected = applyPatch(pod, patch);
    assert.match(JSON.stringify(injected), /"name":"istio-proxy"/);
  });

  it('answers without patch or patchType when it skips', async () => {
    const r = await post(server.port, certs.caCert, JSON.stringify(review(pod, 'u2', 'other')));
    const res = responseOf(r.body);
    assert.equal(res['allowed'], true);
    assert.equal('patch' in res, false);
    assert.equal('patchType' in res, false);
  });

  it('refuses a pod with a bad annotation, naming it', async () => {
    const bad = {
      ...pod,
      metadata: { name: 'x', annotations: { 'sidecar.istio.io/proxyCPU': 'lots' } },
    };
    const res = responseOf(
      (await post(server.port, certs.caCert, JSON.stringify(review(bad)))).body,
    );
    assert.equal(res['allowed'], false);
    assert.match(JSON.stringify(res['status']), /annotation sidecar\.istio\.io\/proxyCPU/);
  });

  it('follows the failure mode on an internal error: deny, then allow with a warning', async () => {
    explode = true;
    try {
      failureMode = 'deny';
      const denied = responseOf(
        (await post(server.port, certs.caCert, JSON.stringify(review(pod)))).body,
      );
      assert.equal(denied['allowed'], false);
      assert.match(JSON.stringify(denied['status']), /failure mode deny\): config store exploded/);
      failureMode = 'allow';
      const allowed = responseOf(
        (await post(server.port, certs.caCert, JSON.stringify(review(pod)))).body,
      );
      assert.equal(allowed['allowed'], true);
      assert.match(JSON.stringify(allowed['warnings']), /not injected after an internal error/);
    } finally {
      explode = false;
      failureMode = 'deny';
    }
  });

  const badBodies: [string, string | Buffer, string, number, RegExp][] = [
    ['non-JSON', '{not json', 'application/json', 400, /not valid JSON/],
    [
      'the wrong kind',
      JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }),
      'application/json',
      400,
      /expected apiVersion admission\.k8s\.io\/v1 kind AdmissionReview/,
    ],
    [
      'v1beta1',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' }),
      'application/json',
      400,
      /got "admission\.k8s\.io\/v1beta1"/,
    ],
    [
      'a missing uid',
      JSON.stringify({
        ...review(pod),
        request: { object: pod, kind: { version: 'v1', kind: 'Pod' } },
      }),
      'application/json',
      400,
      /request\.uid is missing/,
    ],
    [
      'a missing object',
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: 'x', kind: { version: 'v1', kind: 'Pod' } },
      }),
      'application/json',
      400,
      /request\.object is missing/,
    ],
    [
      'a body over the limit',
      Buffer.alloc(100 * 1024, 'a'),
      'application/json',
      413,
      /over the limit/,
    ],
    [
      'a non-JSON content type',
      'hello',
      'text/plain',
      415,
      /Content-Type must be application\/json/,
    ],
    ['a JSON array', '[1,2]', 'application/json', 400, /must be a JSON object/],
  ];
  for (const [name, body, type, status, message] of badBodies) {
    it(`answers ${name} with ${status} and a message`, async () => {
      const r = await post(server.port, certs.caCert, body, type);
      assert.equal(r.status, status);
      assert.match(r.body, message);
    });
  }

  it('answers 1,000 random and malformed bodies without crashing', async () => {
    const agent = new Agent({ keepAlive: true, ca: certs.caCert, maxSockets: 8 });
    const junk = (i: number): string => {
      const pick = i % 6;
      if (pick === 0)
        return Buffer.from(
          Array.from({ length: i % 300 }, (_, k) => (k * 7919 + i) % 256),
        ).toString('latin1');
      if (pick === 1)
        return JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {
            uid: `u${i}`,
            kind: { version: 'v1', kind: 'Pod' },
            object: { spec: { containers: i } },
          },
        });
      if (pick === 2)
        return JSON.stringify(
          review({ kind: 'Pod', metadata: { labels: { a: i } }, spec: {} }, `u${i}`),
        );
      if (pick === 3)
        return JSON.stringify(
          review(
            {
              kind: 'Pod',
              spec: { containers: [{ name: 'a', readinessProbe: { httpGet: { port: [i] } } }] },
            },
            `u${i}`,
          ),
        );
      if (pick === 4) return JSON.stringify({ request: null, n: i });
      return (
        '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"' +
        String(i) +
        '"'
      );
    };
    const statuses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        post(server.port, certs.caCert, junk(i), 'application/json', agent).then((r) => r.status),
      ),
    );
    agent.destroy();
    assert.equal(statuses.length, 1000);
    assert.ok(
      statuses.every((s) => s === 200 || (s >= 400 && s < 500)),
      `unexpected: ${[...new Set(statuses)].join(',')}`,
    );
    const health = await get(server.port, certs.caCert, '/healthz');
    assert.equal(health.status, 200);
  });

  it('serves /healthz, /ready and /metrics with injection counters', async () => {
    assert.equal((await get(server.port, certs.caCert, '/healthz')).status, 200);
    assert.equal((await get(server.port, certs.caCert, '/ready')).status, 200);
    const m = await get(server.port, certs.caCert, '/metrics');
    assert.match(m.body, /sidecar_injection_success_total\{reason="namespace_enabled"\} \d+/);
    assert.match(m.body, /sidecar_injection_skip_total\{reason="namespace_not_enabled"\} \d+/);
    assert.match(m.body, /sidecar_injection_time_seconds_bucket/);
  });

  it('serves a new certificate to new connections after its TlsSource changes', async () => {
    const next = opensslServingCerts('rotated');
    tls.set(next);
    const r = await post(server.port, next.caCert, JSON.stringify(review(pod, 'u9')));
    assert.equal(r.status, 200);
    await assert.rejects(post(server.port, certs.caCert, JSON.stringify(review(pod, 'u10'))));
    tls.set(certs);
  });
});

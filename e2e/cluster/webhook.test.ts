import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { errorMessage } from '../../lib/errors.ts';
import { isObject, type JsonObject } from '../../lib/json.ts';
import { opensslServingCerts } from '../../lib/testing/openssl-certs.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';
import { goldenCases, goldenDir } from '../../webhook/golden-cases.ts';
import type { RunningWebhook } from '../../webhook/run.ts';
import { useLocalCluster } from './local-cluster.ts';
import { ensureServiceAccount } from './pods.ts';
import {
  containerNames,
  isInjected,
  registerWebhook,
  simplePod,
  startTestWebhook,
  waitFor,
} from './webhook-support.ts';

describe('webhook on a real API server', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ dedicated: true });
  let webhook: RunningWebhook;
  let core: CoreV1Api;
  let url: string;

  const ns = async (name: string, labels: Record<string, string> = {}) => {
    await core.createNamespace({ body: { metadata: { name, labels } } });
    return name;
  };
  const create = (namespace: string, pod: V1Pod) =>
    core.createNamespacedPod({ namespace, body: pod });

  before(async () => {
    core = env.kc.makeApiClient(CoreV1Api);
    webhook = await startTestWebhook(env.kc);
    url = `https://127.0.0.1:${webhook.port}/inject`;
    await registerWebhook(env.kc, url);
    await ns('enabled', { 'istio-injection': 'enabled' });
    await ns('plain');
    await ns('canary', { 'istio.io/rev': 'canary' });
    // The MutatingWebhookConfiguration gets its caBundle from the webhook's informer.
    const admission = env.kc.makeApiClient(AdmissionregistrationV1Api);
    await waitFor(
      async () => {
        const c = await admission.readMutatingWebhookConfiguration({
          name: 'istio-sidecar-injector',
        });
        return (c.webhooks ?? []).every((w) => (w.clientConfig.caBundle ?? '') !== '');
      },
      10_000,
      'caBundle patched',
    );
  });
  after(async () => {
    await webhook.close();
  });

  it('injects a pod in a labelled namespace', async () => {
    const p = await create('enabled', simplePod('a'));
    assert.ok(isInjected(p), JSON.stringify(containerNames(p)));
    assert.match(p.metadata?.annotations?.['sidecar.istio.io/status'] ?? '', /istio-proxy/);
    // Kubernetes 1.37 supports native sidecars: nativeSidecars: auto picks them.
    assert.deepEqual(containerNames(p).init, ['istio-init', 'istio-proxy']);
    assert.equal(p.spec?.containers[0]?.readinessProbe?.httpGet?.path, '/app-health/app/readyz');
  });

  it('leaves a pod in an unlabelled namespace alone', async () => {
    assert.equal(isInjected(await create('plain', simplePod('b'))), false);
  });

  it('leaves a pod labelled sidecar.istio.io/inject=false alone', async () => {
    const p = await create('enabled', simplePod('c', { 'sidecar.istio.io/inject': 'false' }));
    assert.equal(isInjected(p), false);
  });

  it('injects a pod that opts in, in an unlabelled namespace', async () => {
    const p = await create('plain', simplePod('d', { 'sidecar.istio.io/inject': 'true' }));
    assert.ok(isInjected(p));
  });

  it('never injects in kube-system, even a pod that opts in', async () => {
    const p = await create('kube-system', simplePod('e', { 'sidecar.istio.io/inject': 'true' }));
    assert.equal(isInjected(p), false);
  });

  it('leaves a namespace of another revision alone', async () => {
    assert.equal(isInjected(await create('canary', simplePod('f'))), false);
  });

  it('refuses a pod with a bad annotation, naming the annotation', async () => {
    const pod = simplePod('g');
    pod.metadata = { name: 'g', annotations: { 'sidecar.istio.io/proxyMemory': 'a lot' } };
    await assert.rejects(create('enabled', pod), (e: unknown) => {
      assert.match(
        errorMessage(e) + JSON.stringify(e),
        /annotation sidecar\.istio\.io\/proxyMemory/,
      );
      return true;
    });
  });

  it('has every golden injected workload accepted by the API server (server-side dry run)', async () => {
    const api = KubernetesObjectApi.makeApiClient(env.kc);
    for (const { name } of goldenCases) {
      const text = readFileSync(`${goldenDir}${name}.yaml.injected`, 'utf8');
      const docs = parseYamlDocuments(text, name)
        .map((d) => d.value)
        .filter(isObject);
      const items = docs.flatMap((d) =>
        d['kind'] === 'List' && Array.isArray(d['items']) ? d['items'].filter(isObject) : [d],
      );
      for (const obj of items) {
        const meta: JsonObject = isObject(obj['metadata']) ? obj['metadata'] : {};
        const body = {
          ...obj,
          metadata: { ...meta, namespace: env.namespace },
        } as KubernetesObject;
        // A pod's ServiceAccount must exist (the ServiceAccount admission plugin checks).
        const spec = isObject(obj['spec']) ? obj['spec'] : {};
        const sa = spec['serviceAccountName'];
        if (obj['kind'] === 'Pod' && typeof sa === 'string') {
          await ensureServiceAccount(env.kc, env.namespace, sa);
        }
        await api.create(body, undefined, 'All').catch((e: unknown) => {
          assert.fail(
            `${name}: ${JSON.stringify(obj['kind'])} ${JSON.stringify(meta['name'])} refused: ${errorMessage(e)}`,
          );
        });
      }
    }
  });

  it('is re-invoked after another webhook adds a container: one sidecar, probes rewritten', async () => {
    const certs = opensslServingCerts('adder');
    // A second mutating webhook (named to run after ours) that appends a container with a probe.
    const adder: Server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const review = JSON.parse(body) as { request: { uid: string; object: V1Pod } };
        const has = review.request.object.spec?.containers.some((c) => c.name === 'vault-agent');
        const patch = has
          ? []
          : [
              {
                op: 'add',
                path: '/spec/containers/-',
                value: {
                  name: 'vault-agent',
                  image: 'vault:1',
                  readinessProbe: { httpGet: { path: '/v1/sys/health', port: 8200 } },
                },
              },
            ];
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: {
              uid: review.request.uid,
              allowed: true,
              ...(patch.length > 0
                ? {
                    patchType: 'JSONPatch',
                    patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
                  }
                : {}),
            },
          }),
        );
      });
    });
    await new Promise<void>((r) => adder.listen(0, '127.0.0.1', r));
    const admission = env.kc.makeApiClient(AdmissionregistrationV1Api);
    try {
      await registerWebhook(env.kc, url, { 'webhook.reinvocationPolicy': 'IfNeeded' });
      await admission.createMutatingWebhookConfiguration({
        body: {
          metadata: { name: 'zz-adder' },
          webhooks: [
            {
              name: 'adder.example.com',
              admissionReviewVersions: ['v1'],
              sideEffects: 'None',
              reinvocationPolicy: 'IfNeeded',
              clientConfig: {
                url: `https://127.0.0.1:${(adder.address() as AddressInfo).port}/`,
                caBundle: Buffer.from(certs.caCert).toString('base64'),
              },
              rules: [
                {
                  operations: ['CREATE'],
                  apiGroups: [''],
                  apiVersions: ['v1'],
                  resources: ['pods'],
                },
              ],
              namespaceSelector: { matchLabels: { 'istio-injection': 'enabled' } },
            },
          ],
        },
      });
      await waitFor(
        async () => {
          const p = await core.createNamespacedPod({
            namespace: 'enabled',
            body: simplePod(`probe-${Date.now()}`),
            dryRun: 'All',
          });
          return p.spec?.containers.some((c) => c.name === 'vault-agent') ?? false;
        },
        10_000,
        'the adder webhook to be active',
      );
      const p = await create('enabled', simplePod('reinvoked'));
      const all = [...containerNames(p).init, ...containerNames(p).main];
      assert.equal(all.filter((n) => n === 'istio-proxy').length, 1, all.join(','));
      const vault = p.spec?.containers.find((c) => c.name === 'vault-agent');
      assert.equal(vault?.readinessProbe?.httpGet?.path, '/app-health/vault-agent/readyz');
      const proxy = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].find(
        (c) => c.name === 'istio-proxy',
      );
      const probers = proxy?.env?.find((e) => e.name === 'ISTIO_KUBE_APP_PROBERS')?.value ?? '';
      assert.match(probers, /\/app-health\/vault-agent\/readyz/);
      assert.match(probers, /\/app-health\/app\/readyz/);
    } finally {
      await admission
        .deleteMutatingWebhookConfiguration({ name: 'zz-adder' })
        .catch(() => undefined);
      await registerWebhook(env.kc, url);
      adder.close();
    }
  });

  it('keeps caBundle patched when something resets it', async () => {
    const admission = env.kc.makeApiClient(AdmissionregistrationV1Api);
    await registerWebhook(env.kc, url, { 'webhook.caBundle': 'bm90IGEgY2E=' }); // a helm upgrade with a stale bundle
    await waitFor(
      async () => {
        const c = await admission.readMutatingWebhookConfiguration({
          name: 'istio-sidecar-injector',
        });
        const want = Buffer.from(webhook.caBundle() ?? '').toString('base64');
        return (c.webhooks ?? []).every((w) => w.clientConfig.caBundle === want);
      },
      10_000,
      'caBundle re-patched',
    );
    assert.ok(isInjected(await create('enabled', simplePod('after-reset'))));
  });

  it('refuses pods while the webhook is down with failurePolicy Fail, admits them uninjected with Ignore', async () => {
    const deadUrl = 'https://127.0.0.1:1/inject';
    await registerWebhook(env.kc, deadUrl, { 'webhook.caBundle': webhook.caBundle() ?? '' });
    try {
      await assert.rejects(create('enabled', simplePod('down-fail')), (e: unknown) => {
        assert.match(
          JSON.stringify(e) + errorMessage(e),
          /failed calling webhook .{0,8}namespace\.sidecar-injector\.istio\.io.*connection refused/,
        );
        return true;
      });
      await registerWebhook(env.kc, deadUrl, {
        'webhook.failurePolicy': 'Ignore',
        'webhook.caBundle': webhook.caBundle() ?? '',
      });
      const p = await create('enabled', simplePod('down-ignore'));
      assert.equal(isInjected(p), false);
    } finally {
      await registerWebhook(env.kc, url);
    }
  });
});

describe('webhook certificate rotation on a real API server', function () {
  this.timeout(60_000);
  const env = useLocalCluster({
    dedicated: true,
    namespaceLabels: { 'istio-injection': 'enabled' },
  });

  it('rotates its serving certificate while pods are created, with zero failed admissions', async () => {
    const webhook = await startTestWebhook(env.kc, { certLifetimeMs: 3000 });
    try {
      await registerWebhook(env.kc, `https://127.0.0.1:${webhook.port}/inject`);
      const core = env.kc.makeApiClient(CoreV1Api);
      await waitFor(
        async () => {
          const p = await core.createNamespacedPod({
            namespace: env.namespace,
            body: simplePod('warmup'),
            dryRun: 'All',
          });
          return isInjected(p);
        },
        10_000,
        'webhook registered',
      );
      const certs = new Set<string>();
      const end = Date.now() + 8000;
      let n = 0;
      const failures: string[] = [];
      while (Date.now() < end) {
        const batch = Array.from({ length: 4 }, () => `rot-${n++}`);
        await Promise.all(
          batch.map((name) =>
            core.createNamespacedPod({ namespace: env.namespace, body: simplePod(name) }).then(
              (p) => {
                if (!isInjected(p)) failures.push(`${name}: not injected`);
              },
              (e: unknown) => failures.push(`${name}: ${errorMessage(e)}`),
            ),
          ),
        );
        const secret = await core.readNamespacedSecret({
          name: 'istio-sidecar-injector-certs',
          namespace: 'istio-system',
        });
        certs.add(secret.data?.['cert.pem'] ?? '');
      }
      assert.deepEqual(failures, []);
      assert.ok(n > 20, `only ${n} pods created`);
      assert.ok(certs.size >= 3, `the serving certificate rotated only ${certs.size - 1} times`);
    } finally {
      await webhook.close();
    }
  });

  it('keeps its CA across a restart (same Secret)', async () => {
    const first = await startTestWebhook(env.kc);
    const bundle = first.caBundle();
    await first.close();
    const second = await startTestWebhook(env.kc);
    try {
      assert.equal(second.caBundle(), bundle);
    } finally {
      await second.close();
    }
  });
});

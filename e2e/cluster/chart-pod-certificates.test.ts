/**
 * `ca.podCertificates=csr`: the chart's mesh ConfigMap names the CA, the CA accepts only tokens
 * for audience istio-ca, and a pod injected with that mesh config (the real chart rendered by real
 * helm, the injection engine, the real API server) carries the projected token the agent sends.
 * The agent's CSR with such a token against the real CA: e2e/cluster/agent-ca.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { chartDir, helmTemplate } from '../../lib/chart.ts';
import { parseConfigText } from '../../lib/config-file.ts';
import { isObject, type JsonObject } from '../../lib/json.ts';
import { helmPath } from '../../lib/local-cluster/cluster.ts';
import { parseMeshConfig } from '../../lib/mesh-config.ts';
import { defaultInjectorConfig } from '../../webhook/config.ts';
import { injectObject } from '../../webhook/engine.ts';
import { useLocalCluster } from './local-cluster.ts';
import { ensureServiceAccount } from './pods.ts';

const exec = promisify(execFile);

function find(docs: JsonObject[], kind: string, name: string): JsonObject {
  const d = docs.find(
    (o) => o['kind'] === kind && isObject(o['metadata']) && o['metadata']['name'] === name,
  );
  assert.ok(d, `${kind} ${name} rendered`);
  return d;
}

describe('Helm chart: pod certificates by CSR', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'chart-csr' });
  let helm: string;

  before(async () => {
    helm = await helmPath();
  });

  it('names the CA in the mesh config, narrows its token audience, injects the projected token', async () => {
    const docs = await helmTemplate({
      helm,
      namespace: 'istio-system',
      set: { 'ca.podCertificates': 'csr' },
      kubeVersion: '1.37.0',
    });
    const meshCm = find(docs, 'ConfigMap', 'istio');
    const meshText = isObject(meshCm['data']) ? meshCm['data']['mesh'] : undefined;
    assert.ok(typeof meshText === 'string', 'the mesh ConfigMap has key mesh');
    const mesh = parseMeshConfig(parseConfigText(meshText, 'mesh', 'mesh'));
    assert.equal(mesh.caAddress, 'istio-ca.istio-system:8060');
    assert.match(
      JSON.stringify(find(docs, 'Deployment', 'istio-ca')),
      /--token-audiences=istio-ca/,
    );

    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'reviews', namespace: env.namespace, labels: { app: 'reviews' } },
      spec: {
        serviceAccountName: 'reviews',
        containers: [{ name: 'reviews', image: 'reviews:v1' }],
      },
    };
    const injected = injectObject(pod, {
      config: defaultInjectorConfig,
      mesh,
      namespaceLabels: { 'istio-injection': 'enabled' },
      namespace: env.namespace,
      kubernetesVersion: undefined,
    }).object;
    const text = JSON.stringify(injected);
    assert.match(text, /"audience":"istio-ca"/);
    assert.match(text, /"--caAddress","istio-ca\.istio-system:8060"/);
    // The API server accepts the pod as injected (projected token volume and its mount).
    await ensureServiceAccount(env.kc, env.namespace, 'reviews');
    const created = await KubernetesObjectApi.makeApiClient(env.kc).create(
      injected as KubernetesObject,
      undefined,
      'All',
    );
    assert.equal(created.metadata?.name, 'reviews');
  });

  it('refuses any other value, naming it', async () => {
    const r = await exec(helm, [
      'template',
      'x',
      chartDir,
      '--kube-version',
      '1.37.0',
      '--set',
      'ca.podCertificates=both',
    ]).then(
      () => '',
      (e: unknown) => String((e as { stderr?: string }).stderr),
    );
    assert.match(r, /ca\.podCertificates must be secret or csr, got "both"/);
  });

  it('keeps 0.2 behaviour by default: no caAddress, every audience the API server accepts', async () => {
    const docs = await helmTemplate({ helm, namespace: 'istio-system', kubeVersion: '1.37.0' });
    const meshCm = find(docs, 'ConfigMap', 'istio');
    assert.doesNotMatch(JSON.stringify(meshCm), /caAddress/);
    assert.doesNotMatch(JSON.stringify(find(docs, 'Deployment', 'istio-ca')), /token-audiences/);
  });
});

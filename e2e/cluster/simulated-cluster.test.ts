/**
 * The cluster tier's cluster is a cluster: kube-controller-manager, kube-scheduler and kwok's
 * simulated nodes beside the API server. A Deployment's pods are created by the ReplicaSet
 * controller, scheduled onto the nodes, get an IP from their node's podCIDR and turn Running and
 * Ready; the EndpointSlice controller writes the Service's slice (targetRef with its namespace);
 * scaling follows; a Job completes; ServiceAccounts and their tokens exist; a deleted namespace is
 * really emptied and removed.
 */
import assert from 'node:assert/strict';
import {
  AppsV1Api,
  AuthenticationV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import { isNotFound } from '../../lib/kube/client.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';

/** Whether `ip` (IPv4) is inside `cidr`. */
function inCidr(ip: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const n = (s: string) => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(base) / size);
}

const running = (p: V1Pod) =>
  p.status?.phase === 'Running' &&
  p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true &&
  (p.status.podIP ?? '') !== '';

describe('the simulated cluster (controllers, scheduler, kwok nodes)', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ namespacePrefix: 'sim' });

  it('has Ready nodes with pod CIDRs, and the namespace its default ServiceAccount', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const nodes = (await core.listNode()).items;
    assert.ok(nodes.length >= 3, `${nodes.length} nodes`);
    for (const n of nodes) {
      assert.match(n.spec?.podCIDR ?? '', /^10\.112\.\d+\.0\/22$/);
      assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    }
    await core.readNamespacedServiceAccount({ name: 'default', namespace: env.namespace });
  });

  it('runs a Deployment: scheduled, Running, Ready pods with IPs, a real EndpointSlice, scaling', async () => {
    const ns = env.namespace;
    const core = env.kc.makeApiClient(CoreV1Api);
    const apps = env.kc.makeApiClient(AppsV1Api);
    const discovery = env.kc.makeApiClient(DiscoveryV1Api);
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                { name: 'app', image: 'example/web:1', ports: [{ containerPort: 8080 }] },
              ],
            },
          },
        },
      },
    });
    const nodes = new Map(
      (await core.listNode()).items.map((n) => [n.metadata?.name ?? '', n.spec?.podCIDR ?? '']),
    );
    const pods = await eventually(
      async () => {
        const items = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' }))
          .items;
        assert.equal(items.filter(running).length, 2);
        return items;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    for (const p of pods) {
      const node = p.spec?.nodeName ?? '';
      assert.ok(nodes.has(node), `scheduled on ${node}`);
      assert.ok(
        inCidr(p.status?.podIP ?? '', nodes.get(node) ?? ''),
        `${p.status?.podIP} in ${node}`,
      );
      assert.equal(p.metadata?.ownerReferences?.[0]?.kind, 'ReplicaSet');
      // The ServiceAccount admission plugin mounted the default ServiceAccount's token.
      assert.equal(p.spec?.serviceAccountName, 'default');
      assert.ok(
        p.spec.volumes?.some((v) =>
          v.projected?.sources?.some((s) => s.serviceAccountToken !== undefined),
        ),
      );
    }

    const slice = await eventually(
      async () => {
        const list = await discovery.listNamespacedEndpointSlice({
          namespace: ns,
          labelSelector: 'kubernetes.io/service-name=web',
        });
        const s = list.items[0];
        assert.equal(s?.endpoints?.filter((e) => e.conditions?.ready === true).length, 2);
        return s;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.equal(
      slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'],
      'endpointslice-controller.k8s.io',
    );
    assert.deepEqual(
      slice.ports?.map((p) => [p.name, p.port, p.protocol]),
      [['http', 8080, 'TCP']],
    );
    const byName = new Map(pods.map((p) => [p.metadata?.name ?? '', p]));
    for (const e of slice.endpoints ?? []) {
      assert.equal(e.targetRef?.kind, 'Pod');
      assert.equal(e.targetRef.namespace, ns);
      const p = byName.get(e.targetRef.name ?? '');
      assert.deepEqual(e.addresses, [p?.status?.podIP]);
      assert.equal(e.nodeName, p?.spec?.nodeName);
    }

    await apps.patchNamespacedDeploymentScale({
      name: 'web',
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
    });
    await eventually(
      async () => {
        const list = await discovery.listNamespacedEndpointSlice({
          namespace: ns,
          labelSelector: 'kubernetes.io/service-name=web',
        });
        const ready = list.items
          .flatMap((s) => s.endpoints ?? [])
          .filter((e) => e.conditions?.ready === true);
        assert.equal(ready.length, 3);
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await apps.patchNamespacedDeploymentScale({
      name: 'web',
      namespace: ns,
      body: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
    });
    await eventually(
      async () => {
        const items = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' }))
          .items;
        assert.equal(items.length, 1, 'scaled-down pods are gone, not left Terminating');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  });

  it('completes a Job', async () => {
    const batch = env.kc.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace: env.namespace,
      body: {
        metadata: { name: 'once' },
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'task', image: 'example/task:1' }],
            },
          },
        },
      },
    });
    await eventually(
      async () => {
        const job = await batch.readNamespacedJob({ name: 'once', namespace: env.namespace });
        assert.equal(job.status?.succeeded, 1);
        assert.ok(job.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  });

  it('gives a new ServiceAccount a token the API server accepts', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({
      namespace: env.namespace,
      body: { metadata: { name: 'robot' } },
    });
    const token = await core.createNamespacedServiceAccountToken({
      name: 'robot',
      namespace: env.namespace,
      body: { spec: { audiences: [] } },
    });
    const review = await env.kc.makeApiClient(AuthenticationV1Api).createTokenReview({
      body: { spec: { token: token.status?.token ?? '' } },
    });
    assert.equal(review.status?.user?.username, `system:serviceaccount:${env.namespace}:robot`);
    // kube-root-ca.crt is published into every namespace by its controller.
    await eventually(() =>
      core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: env.namespace }),
    );
  });

  it('deletes a namespace with what is in it', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const name = `${env.namespace}-gone`;
    await core.createNamespace({ body: { metadata: { name } } });
    await eventually(() => core.readNamespacedServiceAccount({ name: 'default', namespace: name }));
    await core.createNamespacedPod({
      namespace: name,
      body: {
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c', image: 'example/c:1' }] },
      },
    });
    await core.deleteNamespace({ name });
    await eventually(
      async () => {
        await core.readNamespace({ name }).then(
          () => assert.fail('namespace still there'),
          (e: unknown) => {
            if (!isNotFound(e)) throw e;
          },
        );
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });
});

/**
 * Jobs and the sidecar on a cluster that runs them (controllers, scheduler, kwok's nodes): the Job
 * controller makes the pod, the webhook injects it on its way in, the node runs it. With native
 * sidecars (the default on Kubernetes ≥ 1.29) `istio-proxy` is an init container with
 * `restartPolicy: Always`, stopped once the job's container exits, so the pod Succeeds and the Job
 * completes. With classic sidecars `istio-proxy` is a regular container that never exits by itself,
 * so the pod keeps running and the Job never completes, as on a real cluster.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AdmissionregistrationV1Api,
  BatchV1Api,
  CoreV1Api,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import type { RunningWebhook } from '../../webhook/run.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { isRunning } from './pods.ts';
import { isInjected, registerWebhook, startTestWebhook, waitFor } from './webhook-support.ts';

function job(name: string, native?: boolean): V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: {
          labels: { app: name },
          ...(native === undefined
            ? {}
            : { annotations: { 'sidecar.istio.io/nativeSidecar': String(native) } }),
        },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'task', image: 'example/task:1', args: ['--once'] }],
        },
      },
    },
  };
}

describe('injected Jobs on the simulated cluster', function () {
  this.timeout(120_000);
  // Its own cluster: the webhook configuration it registers is cluster-wide.
  const env = useLocalCluster({
    dedicated: true,
    namespaceLabels: { 'istio-injection': 'enabled' },
  });
  let webhook: RunningWebhook | undefined;

  before(async () => {
    webhook = await startTestWebhook(env.kc);
    await registerWebhook(env.kc, `https://127.0.0.1:${webhook.port}/inject`);
    const admission = env.kc.makeApiClient(AdmissionregistrationV1Api);
    await waitFor(
      async () => {
        const c = await admission.readMutatingWebhookConfiguration({
          name: 'istio-sidecar-injector',
        });
        return (c.webhooks ?? []).every((w) => (w.clientConfig.caBundle ?? '') !== '');
      },
      20_000,
      'caBundle',
    );
    // The webhook knows the namespace is labelled once a dry-run pod comes back injected.
    const core = env.kc.makeApiClient(CoreV1Api);
    await waitFor(
      async () =>
        isInjected(
          await core.createNamespacedPod({
            namespace: env.namespace,
            body: {
              metadata: { name: 'probe' },
              spec: { containers: [{ name: 'c', image: 'c' }] },
            },
            dryRun: 'All',
          }),
        ),
      20_000,
      'an injected dry-run pod',
    );
  });

  after(async () => {
    await webhook?.close();
  });

  async function podOf(name: string): Promise<V1Pod> {
    return eventually(
      async () => {
        const pods = await env.kc
          .makeApiClient(CoreV1Api)
          .listNamespacedPod({ namespace: env.namespace, labelSelector: `job-name=${name}` });
        assert.equal(pods.items.length, 1);
        return pods.items[0]!;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  it('completes an injected Job whose sidecar is native (the default here)', async () => {
    const batch = env.kc.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({ namespace: env.namespace, body: job('native') });
    const pod = await podOf('native');
    const proxy = pod.spec?.initContainers?.find((c) => c.name === 'istio-proxy');
    assert.equal(proxy?.restartPolicy, 'Always', 'istio-proxy is a native sidecar');
    assert.ok(!pod.spec?.containers.some((c) => c.name === 'istio-proxy'));

    const done = await eventually(
      async () => {
        const j = await batch.readNamespacedJob({ name: 'native', namespace: env.namespace });
        assert.equal(j.status?.succeeded, 1);
        assert.ok(j.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
        return j;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    assert.equal(done.status?.failed ?? 0, 0);
    const finished = await env.kc
      .makeApiClient(CoreV1Api)
      .readNamespacedPod({ name: pod.metadata?.name ?? '', namespace: env.namespace });
    assert.equal(finished.status?.phase, 'Succeeded');
    const sidecar = finished.status.initContainerStatuses?.find((s) => s.name === 'istio-proxy');
    assert.ok(sidecar?.state?.terminated, 'the sidecar was stopped with the pod');
  });

  it('never completes one whose sidecar is a regular container: the proxy keeps the pod running', async () => {
    const batch = env.kc.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({ namespace: env.namespace, body: job('classic', false) });
    const pod = await podOf('classic');
    assert.ok(pod.spec?.containers.some((c) => c.name === 'istio-proxy'));
    const name = pod.metadata?.name ?? '';
    const core = env.kc.makeApiClient(CoreV1Api);
    await eventually(
      async () => {
        assert.ok(isRunning(await core.readNamespacedPod({ name, namespace: env.namespace })));
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // Give the simulated kubelet time to finish it, were it going to.
    await sleep(3000);
    const j = await batch.readNamespacedJob({ name: 'classic', namespace: env.namespace });
    assert.equal(j.status?.succeeded ?? 0, 0);
    assert.equal(j.status?.active, 1);
    assert.equal(
      (await core.readNamespacedPod({ name, namespace: env.namespace })).status?.phase,
      'Running',
    );
  });
});

/**
 * Pods on the cluster tier's simulated cluster: created as a user would (their ServiceAccount
 * first, which the API server requires), then left to the scheduler and kwok, which give them a
 * node, an IP from the node's podCIDR, and Running and Ready, as a kubelet would.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { isAlreadyExists } from '../../lib/kube/client.ts';
import { eventually } from './eventually.ts';

/** Creates ServiceAccount `name` in `namespace` unless it exists. */
export async function ensureServiceAccount(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name } } })
    .catch((e: unknown) => {
      if (!isAlreadyExists(e)) throw e;
    });
}

/** Whether the pod is Running and Ready with an IP. */
export function isRunning(p: V1Pod): boolean {
  return (
    p.status?.phase === 'Running' &&
    p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true &&
    (p.status.podIP ?? '') !== ''
  );
}

/** Waits until pod `name` is Running and Ready with an IP, and returns it. */
export function waitForRunning(
  kc: KubeConfig,
  namespace: string,
  name: string,
  timeoutMs = 30_000,
): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  return eventually(
    async () => {
      const p = await core.readNamespacedPod({ name, namespace });
      if (!isRunning(p)) throw new Error(`pod ${namespace}/${name} is ${p.status?.phase ?? '?'}`);
      return p;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/**
 * Creates `pod` in `namespace` (its ServiceAccount too, when it names one) and waits until it
 * runs; returns it with its status (`status.podIP` is its address).
 */
export async function runPod(kc: KubeConfig, namespace: string, pod: V1Pod): Promise<V1Pod> {
  const sa = pod.spec?.serviceAccountName;
  if (sa !== undefined && sa !== '') await ensureServiceAccount(kc, namespace, sa);
  const created = await kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace, body: pod });
  return waitForRunning(kc, namespace, created.metadata?.name ?? '');
}

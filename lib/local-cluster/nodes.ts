/**
 * The simulated cluster's nodes: Node objects as a kubelet would register them (zone labels spread
 * over three zones, so EndpointSlices carry zones as on a cloud), which kwok then keeps Ready
 * (kwok-config.ts) and kube-controller-manager gives each a podCIDR. `up` waits until every node is
 * Ready, has its podCIDR and has lost the `not-ready` taint, so the first pod a test creates is
 * scheduled at once and gets an address from the right range.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { isAlreadyExists } from '../kube/client.ts';
import { kwokNodeAnnotation } from './component-args.ts';
import { nodeIpAnnotation } from './kwok-config.ts';

export const nodeNamePrefix = 'kwok-node-';

/** Node `i`'s zone: local-a, local-b, local-c, local-a, … (region `local`). */
export function nodeZone(i: number): string {
  return `local-${String.fromCharCode(97 + (i % 3))}`;
}

/** Node `i`'s InternalIP: 172.30.0.0/16, 250 a block (never an address of this machine). */
export function nodeIp(i: number): string {
  return `172.30.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

export function nodeObject(i: number): V1Node {
  const name = `${nodeNamePrefix}${i}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'kwok',
        'topology.kubernetes.io/region': 'local',
        'topology.kubernetes.io/zone': nodeZone(i),
        type: 'kwok',
      },
      annotations: { [nodeIpAnnotation]: nodeIp(i), [kwokNodeAnnotation]: 'fake' },
    },
  };
}

/** Creates nodes 0..count-1 (those already there are kept). */
export async function createNodes(kc: KubeConfig, count: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    pending.push(
      core.createNode({ body: nodeObject(i) }).catch((e: unknown) => {
        if (!isAlreadyExists(e)) throw e;
      }),
    );
    if (pending.length >= 20) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

/** Why a node is not ready for pods yet; undefined when it is. */
export function notReadyReason(n: V1Node): string | undefined {
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  if (ready !== 'True') return 'not Ready';
  if ((n.spec?.podCIDR ?? '') === '') return 'no podCIDR';
  const taint = n.spec?.taints?.find((t) => t.key.startsWith('node.kubernetes.io/'));
  if (taint !== undefined) return `tainted ${taint.key}`;
  return undefined;
}

/** Waits until `count` of our nodes are ready for pods (see notReadyReason). */
export async function waitForNodes(
  kc: KubeConfig,
  count: number,
  timeoutMs: number,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const nodes = (await core.listNode()).items.filter((n) =>
        (n.metadata?.name ?? '').startsWith(nodeNamePrefix),
      );
      const waiting = nodes
        .map((n) => [n.metadata?.name ?? '', notReadyReason(n)] as const)
        .filter(([, why]) => why !== undefined);
      if (nodes.length >= count && waiting.length === 0) return;
      last =
        nodes.length < count
          ? `${nodes.length} of ${count} nodes exist`
          : waiting
              .slice(0, 3)
              .map(([name, why]) => `${name}: ${why ?? ''}`)
              .join(', ');
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      throw new IstioLiteError(
        ErrorCode.External,
        `the simulated nodes were not ready after ${timeoutMs} ms (${last}); see kwok.log and kube-controller-manager.log`,
      );
    }
    await sleep(200);
  }
}

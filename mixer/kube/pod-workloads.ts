/**
 * Pods by IP for Mixer's workload attributes (mixer/workload-attributes.ts): one informer on every
 * pod that has an IP. Host-network pods share their node's IP and are left out (an IP must name one
 * workload); a pod that finished (Succeeded, Failed) gives up its IP to whichever live pod has it.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import type { Logger } from '../../lib/log.ts';
import type { Workload, WorkloadLookup } from '../workload-attributes.ts';

export interface PodWorkloads extends WorkloadLookup {
  start(): void;
  synced(): Promise<void>;
  stop(): Promise<void>;
  /** How many IPs name a workload now. */
  size(): number;
}

const finished = new Set(['Succeeded', 'Failed']);

function podKey(p: V1Pod): string {
  return `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;
}

function ipsOf(p: V1Pod): string[] {
  if (p.spec?.hostNetwork === true || finished.has(p.status?.phase ?? '')) return [];
  const ips = new Set<string>();
  if (p.status?.podIP) ips.add(p.status.podIP);
  for (const i of p.status?.podIPs ?? []) if (i.ip) ips.add(i.ip);
  return [...ips];
}

function workloadOf(p: V1Pod): Workload {
  return {
    name: p.metadata?.name ?? '',
    namespace: p.metadata?.namespace ?? '',
    labels: new Map(Object.entries(p.metadata?.labels ?? {})),
    serviceAccount: p.spec?.serviceAccountName ?? 'default',
  };
}

/** What the index reads of a pod; the informer caches only this (pods are large and many). */
function slim(p: V1Pod): V1Pod {
  const m = p.metadata;
  return {
    metadata: {
      ...(m?.name === undefined ? {} : { name: m.name }),
      ...(m?.namespace === undefined ? {} : { namespace: m.namespace }),
      ...(m?.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
      ...(m?.labels === undefined ? {} : { labels: m.labels }),
    },
    spec: {
      containers: [],
      ...(p.spec?.serviceAccountName === undefined
        ? {}
        : { serviceAccountName: p.spec.serviceAccountName }),
      ...(p.spec?.hostNetwork === undefined ? {} : { hostNetwork: p.spec.hostNetwork }),
    },
    status: {
      ...(p.status?.phase === undefined ? {} : { phase: p.status.phase }),
      ...(p.status?.podIP === undefined ? {} : { podIP: p.status.podIP }),
      ...(p.status?.podIPs === undefined ? {} : { podIPs: p.status.podIPs }),
    },
  };
}

export function watchPodWorkloads(o: { kc: KubeConfig; logger: Logger }): PodWorkloads {
  const core = o.kc.makeApiClient(CoreV1Api);
  const informer: Informer<V1Pod> = createInformer<V1Pod>({
    kc: o.kc,
    logger: o.logger,
    path: '/api/v1/pods',
    list: (opts) => core.listPodForAllNamespaces(opts),
    objectType: 'V1Pod',
    transform: slim,
    name: 'mixer-pods',
  });
  const byIp = new Map<string, { key: string; workload: Workload }>();
  const ipsByPod = new Map<string, string[]>();

  const remove = (key: string) => {
    for (const ip of ipsByPod.get(key) ?? []) if (byIp.get(ip)?.key === key) byIp.delete(ip);
    ipsByPod.delete(key);
  };
  const put = (p: V1Pod) => {
    const key = podKey(p);
    remove(key);
    const ips = ipsOf(p);
    if (ips.length === 0) return;
    const workload = workloadOf(p);
    for (const ip of ips) byIp.set(ip, { key, workload });
    ipsByPod.set(key, ips);
  };
  informer.on('add', put);
  informer.on('update', put);
  informer.on('delete', (p) => {
    remove(podKey(p));
  });

  return {
    byIp: (ip) => byIp.get(ip)?.workload,
    start: () => {
      informer.start();
    },
    synced: () => informer.synced(),
    stop: () => informer.stop(),
    size: () => byIp.size,
  };
}

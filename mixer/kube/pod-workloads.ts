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

/**
 * Pods by IP. Two pods may claim one IP for a moment (a new pod got it before the old one's end
 * arrived): the latest claim answers, and when it goes, an earlier one still standing answers.
 */
export class PodIpIndex implements WorkloadLookup {
  private readonly workloads = new Map<string, Workload>();
  private readonly ipsByPod = new Map<string, string[]>();
  private readonly claims = new Map<string, string[]>();

  put(p: V1Pod): void {
    const key = podKey(p);
    this.removeKey(key);
    const ips = ipsOf(p);
    if (ips.length === 0) return;
    this.workloads.set(key, workloadOf(p));
    this.ipsByPod.set(key, ips);
    for (const ip of ips) this.claims.set(ip, [...(this.claims.get(ip) ?? []), key]);
  }

  remove(p: V1Pod): void {
    this.removeKey(podKey(p));
  }

  byIp(ip: string): Workload | undefined {
    const keys = this.claims.get(ip);
    const key = keys?.[keys.length - 1];
    return key === undefined ? undefined : this.workloads.get(key);
  }

  /** How many IPs name a workload now. */
  get size(): number {
    return this.claims.size;
  }

  private removeKey(key: string): void {
    for (const ip of this.ipsByPod.get(key) ?? []) {
      const rest = (this.claims.get(ip) ?? []).filter((k) => k !== key);
      if (rest.length > 0) this.claims.set(ip, rest);
      else this.claims.delete(ip);
    }
    this.ipsByPod.delete(key);
    this.workloads.delete(key);
  }
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
  const index = new PodIpIndex();
  informer.on('add', (p) => {
    index.put(p);
  });
  informer.on('update', (p) => {
    index.put(p);
  });
  informer.on('delete', (p) => {
    index.remove(p);
  });

  return {
    byIp: (ip) => index.byIp(ip),
    start: () => {
      informer.start();
    },
    synced: () => informer.synced(),
    stop: () => informer.stop(),
    size: () => index.size,
  };
}

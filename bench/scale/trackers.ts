/**
 * What the cluster does with the bench's pods and slices, watched with the project's informer
 * (trimmed objects: a bench pod is a few hundred bytes in the cache, not 10 KB):
 * - pods: each pod's first sight (admitted: the API server stored it after the webhook), whether
 *   it is injected, Running with an IP, or being deleted, and the addresses of each app's pods;
 * - EndpointSlices: when each address turned ready, or stopped being ready, in its Service's slices
 *   (the instant the endpoint change exists for Pilot to see).
 */
import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1EndpointSlice,
  type V1Pod,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import { benchSelector } from './workloads.ts';

const logger = pino({ level: 'warn' });
const injectedKey = 'sidecar.istio.io/status';

function trimPod(p: V1Pod): V1Pod {
  const m = p.metadata;
  return {
    metadata: {
      name: m?.name ?? '',
      namespace: m?.namespace ?? '',
      resourceVersion: m?.resourceVersion ?? '',
      labels: { app: m?.labels?.['app'] ?? '' },
      annotations: m?.annotations?.[injectedKey] === undefined ? {} : { [injectedKey]: 'y' },
      ...(m?.deletionTimestamp === undefined ? {} : { deletionTimestamp: m.deletionTimestamp }),
    },
    status: { phase: p.status?.phase ?? '', podIP: p.status?.podIP ?? '' },
  };
}

const isRunning = (p: V1Pod) =>
  p.status?.phase === 'Running' &&
  (p.status.podIP ?? '') !== '' &&
  p.metadata?.deletionTimestamp === undefined;

export class PodTracker {
  readonly informer: Informer<V1Pod>;
  /** When each pod was first seen, in order. */
  readonly admitted: number[] = [];
  /** Pods being deleted or gone: their app, address and when. */
  readonly gone: { app: string; ip: string; at: number }[] = [];
  private readonly deleting = new Set<string>();

  constructor(kc: KubeConfig) {
    const core = kc.makeApiClient(CoreV1Api);
    this.informer = createInformer<V1Pod>({
      kc,
      path: '/api/v1/pods',
      list: (o) => core.listPodForAllNamespaces(o),
      labelSelector: benchSelector,
      objectType: 'V1Pod',
      transform: trimPod,
      logger,
      name: 'bench-pods',
    });
    this.informer.on('add', () => {
      this.admitted.push(Date.now());
    });
    const leaving = (p: V1Pod) => {
      const key = `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;
      if (this.deleting.has(key)) return;
      this.deleting.add(key);
      this.gone.push({
        app: p.metadata?.labels?.['app'] ?? '',
        ip: p.status?.podIP ?? '',
        at: Date.now(),
      });
    };
    this.informer.on('update', (p) => {
      if (p.metadata?.deletionTimestamp !== undefined) leaving(p);
    });
    this.informer.on('delete', leaving);
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.synced();
  }

  /** Pods Running with an IP and injected, and pods in all. */
  counts(): { running: number; injected: number; all: number } {
    let running = 0;
    let injected = 0;
    let all = 0;
    for (const p of this.informer.list()) {
      if (p.metadata?.deletionTimestamp !== undefined) continue;
      all++;
      const inj = p.metadata?.annotations?.[injectedKey] !== undefined;
      if (inj) injected++;
      if (inj && isRunning(p)) running++;
    }
    return { running, injected, all };
  }

  /** Addresses of `app`'s running pods. */
  ips(app: string): Set<string> {
    return new Set(
      this.informer
        .list()
        .filter((p) => p.metadata?.labels?.['app'] === app && isRunning(p))
        .map((p) => p.status?.podIP ?? ''),
    );
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}

export class SliceTracker {
  readonly informer: Informer<V1EndpointSlice>;
  /** Address → when it last turned ready / stopped being ready in some slice. */
  readonly readyAt = new Map<string, number>();
  readonly unreadyAt = new Map<string, number>();
  private readonly ready = new Map<string, Set<string>>();

  constructor(kc: KubeConfig) {
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    this.informer = createInformer<V1EndpointSlice>({
      kc,
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: (o) => discovery.listEndpointSliceForAllNamespaces(o),
      labelSelector: benchSelector,
      objectType: 'V1EndpointSlice',
      logger,
      name: 'bench-slices',
    });
    const seen = (s: V1EndpointSlice, gone: boolean) => {
      const key = `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
      const now = Date.now();
      const before = this.ready.get(key) ?? new Set<string>();
      const after = new Set<string>();
      if (!gone) {
        for (const e of s.endpoints ?? []) {
          if (e.conditions?.ready === true) for (const a of e.addresses) after.add(a);
        }
      }
      for (const a of after) if (!before.has(a)) this.readyAt.set(a, now);
      for (const a of before) if (!after.has(a)) this.unreadyAt.set(a, now);
      if (gone) this.ready.delete(key);
      else this.ready.set(key, after);
    };
    this.informer.on('add', (s) => {
      seen(s, false);
    });
    this.informer.on('update', (s) => {
      seen(s, false);
    });
    this.informer.on('delete', (s) => {
      seen(s, true);
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.synced();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}

/**
 * The service registry fed by Kubernetes: informers on Services, EndpointSlices, Pods and
 * WorkloadEntries (all namespaces, plain JSON keeping only what is read: slim.ts), folded into a
 * MemoryRegistry one change at a time. A pod
 * change (labels, service account, sidecar) recomputes only the services whose slices point at
 * that pod; a WorkloadEntry change, the selecting services of its namespace
 * (workload-entries.ts: a Service selects entries by its label selector, as it selects pods).
 */
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import {
  WorkloadEntryGroup,
  WorkloadEntryPlural,
  WorkloadEntryVersion,
} from '../../lib/workload-entry.ts';
import { ListPageSize, type KubeHttp } from '../../lib/kube/http.ts';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import type { BackoffOptions } from '../../lib/kube/object-store.ts';
import { StoreRegistry } from '../model/memory-registry.ts';
import {
  KubernetesRegistry,
  serviceHostname,
  type PlatformRegistry,
  type RegistryStatus,
} from '../model/service.ts';
import {
  ServiceNameLabel,
  convertEndpoints,
  convertService,
  endpointPodKey,
  objectKey,
  podInfo,
  samePodInfo,
  type PodInfo,
  byAddressAndPort,
} from './convert.ts';
import { customObjectInformer, type RawObject } from './custom-objects.ts';
import { slimEndpointSlice, slimPod, slimService, slimWorkloadEntry } from './slim.ts';
import {
  parseWorkloadEntryObject,
  selectingService,
  workloadEntryEndpoints,
  type SelectingService,
  type WorkloadEntryInfo,
} from './workload-entries.ts';

export interface KubeRegistryOptions {
  /** The API server (lib/kube/http.ts: plain JSON, no client-node models). */
  readonly http: KubeHttp;
  readonly logger: Logger;
  /** The cluster's DNS domain (default `cluster.local`). */
  readonly domain?: string;
  readonly backoff?: Partial<BackoffOptions>;
}

export class KubeRegistry extends StoreRegistry implements PlatformRegistry {
  readonly name = KubernetesRegistry;
  private readonly domain: string;
  private readonly log: Logger;
  private readonly services: Informer<V1Service>;
  private readonly slices: Informer<V1EndpointSlice>;
  private readonly pods: Informer<V1Pod>;
  private readonly entries: Informer<RawObject>;
  /** Services with a selector (`ns/name` →), the ones WorkloadEntries can join. */
  private readonly selecting = new Map<string, SelectingService>();
  /** Namespace → its valid WorkloadEntries by name. */
  private readonly entriesByNamespace = new Map<string, Map<string, WorkloadEntryInfo>>();
  /** Service key (`ns/name`) → its slices by name. */
  private readonly slicesByService = new Map<string, Map<string, V1EndpointSlice>>();
  private readonly podInfos = new Map<string, PodInfo>();
  /** Pod key → services whose endpoints point at it, and back. */
  private readonly servicesByPod = new Map<string, Set<string>>();
  private readonly podsByService = new Map<string, Set<string>>();
  private initialSyncDone = false;
  /** When the informers last listed or delivered an event (ms since epoch). */
  private lastEventMs: number | undefined;

  constructor(o: KubeRegistryOptions) {
    super();
    this.domain = o.domain ?? 'cluster.local';
    this.log = o.logger.child({ component: 'kube-registry' });
    const http = o.http;
    const common = {
      watcher: http,
      pageSize: ListPageSize,
      logger: o.logger,
      ...(o.backoff ? { backoff: o.backoff } : {}),
    };
    const servicesPath = '/api/v1/services';
    this.services = createInformer<V1Service>({
      ...common,
      path: servicesPath,
      list: (opts) => http.list<V1Service>(servicesPath, opts),
      transform: slimService,
      name: 'pilot-services',
    });
    const slicesPath = '/apis/discovery.k8s.io/v1/endpointslices';
    this.slices = createInformer<V1EndpointSlice>({
      ...common,
      path: slicesPath,
      list: (opts) => http.list<V1EndpointSlice>(slicesPath, opts),
      transform: slimEndpointSlice,
      name: 'pilot-endpointslices',
    });
    const podsPath = '/api/v1/pods';
    this.pods = createInformer<V1Pod>({
      ...common,
      path: podsPath,
      list: (opts) => http.list<V1Pod>(podsPath, opts),
      transform: slimPod,
      name: 'pilot-pods',
    });
    this.entries = customObjectInformer({
      http,
      logger: o.logger,
      ...(o.backoff ? { backoff: o.backoff } : {}),
      group: WorkloadEntryGroup,
      version: WorkloadEntryVersion,
      plural: WorkloadEntryPlural,
      name: 'pilot-workloadentries',
      transform: slimWorkloadEntry,
    });
    this.store.setSyncCheck(() => this.syncProblem());
    this.wire();
    this.wireEntries();
  }

  /** Starts the informers; resolves once all three have synced and the registry is complete. */
  async start(): Promise<void> {
    this.pods.start();
    this.services.start();
    this.slices.start();
    this.entries.start();
    await Promise.all([
      this.pods.synced(),
      this.services.synced(),
      this.slices.synced(),
      this.entries.synced(),
    ]);
    this.initialSyncDone = true;
    this.lastEventMs = Date.now();
    this.log.info(
      {
        services: this.services.list().length,
        slices: this.slices.list().length,
        pods: this.podInfos.size,
        workloadEntries: this.entries.list().length,
      },
      'registry synced',
    );
    // Everything arrived before "synced" was true: tell listeners the registry is complete now.
    this.store.notify();
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.services.stop(),
      this.slices.stop(),
      this.pods.stop(),
      this.entries.stop(),
    ]);
  }

  status(): RegistryStatus {
    return {
      name: this.name,
      source: undefined,
      state: this.initialSyncDone ? 'synced' : 'syncing',
      lastSyncMs: this.lastEventMs,
      lastError: undefined,
      lastErrorMs: undefined,
      downSinceMs: undefined,
      services: this.store.current().services.size,
    };
  }

  private syncProblem(): string | undefined {
    const waiting: string[] = [];
    if (!this.services.hasSynced()) waiting.push('services');
    if (!this.slices.hasSynced()) waiting.push('endpointslices');
    if (!this.pods.hasSynced()) waiting.push('pods');
    if (!this.entries.hasSynced()) waiting.push('workloadentries');
    if (waiting.length > 0) return `informers not synced: ${waiting.join(', ')}`;
    return this.initialSyncDone ? undefined : 'registry not built yet';
  }

  private wire(): void {
    const seen = () => {
      if (this.initialSyncDone) this.lastEventMs = Date.now();
    };
    for (const informer of [this.services, this.slices, this.pods, this.entries]) {
      informer.on('add', seen);
      informer.on('update', seen);
      informer.on('delete', seen);
    }
    const onService = (svc: V1Service) => {
      this.serviceChanged(svc);
    };
    this.services.on('add', onService);
    this.services.on('update', onService);
    this.services.on('delete', (svc) => {
      const name = svc.metadata?.name ?? '';
      const ns = svc.metadata?.namespace ?? '';
      this.selecting.delete(objectKey(ns, name));
      this.store.deleteService(serviceHostname(name, ns, this.domain));
    });
    const onSlice = (slice: V1EndpointSlice, deleted: boolean) => {
      const svcName = slice.metadata?.labels?.[ServiceNameLabel];
      const ns = slice.metadata?.namespace;
      const sliceName = slice.metadata?.name;
      if (svcName === undefined || ns === undefined || sliceName === undefined) return;
      const key = objectKey(ns, svcName);
      let m = this.slicesByService.get(key);
      if (!m) this.slicesByService.set(key, (m = new Map<string, V1EndpointSlice>()));
      if (deleted) m.delete(sliceName);
      else m.set(sliceName, slice);
      if (m.size === 0) this.slicesByService.delete(key);
      this.recompute(key);
    };
    this.slices.on('add', (s) => {
      onSlice(s, false);
    });
    this.slices.on('update', (s) => {
      onSlice(s, false);
    });
    this.slices.on('delete', (s) => {
      onSlice(s, true);
    });
    const onPod = (pod: V1Pod, deleted: boolean) => {
      const key = objectKey(pod.metadata?.namespace, pod.metadata?.name);
      const old = this.podInfos.get(key);
      if (deleted) {
        if (!old) return;
        this.podInfos.delete(key);
      } else {
        const info = podInfo(pod);
        if (old && samePodInfo(old, info)) return;
        this.podInfos.set(key, info);
      }
      for (const svc of this.servicesByPod.get(key) ?? []) this.recompute(svc);
    };
    this.pods.on('add', (p) => {
      onPod(p, false);
    });
    this.pods.on('update', (p) => {
      onPod(p, false);
    });
    this.pods.on('delete', (p) => {
      onPod(p, true);
    });
  }

  private serviceChanged(obj: V1Service): void {
    const svc = convertService(obj, this.domain);
    const key = objectKey(obj.metadata?.namespace, obj.metadata?.name);
    const selecting = selectingService(obj);
    if (selecting) this.selecting.set(key, selecting);
    else this.selecting.delete(key);
    if ('skip' in svc) {
      this.log.debug({ service: key, reason: svc.skip }, 'service skipped');
      const [ns = '', name = ''] = key.split('/');
      this.store.deleteService(serviceHostname(name, ns, this.domain));
      return;
    }
    this.store.batch((b) => {
      b.setService(svc);
      b.setEndpoints(svc.hostname, this.endpointsOf(key));
    });
  }

  private recompute(key: string): void {
    const [ns = '', name = ''] = key.split('/');
    this.store.setEndpoints(serviceHostname(name, ns, this.domain), this.endpointsOf(key));
  }

  /** The service's endpoints from its slices; keeps the pod ↔ service index current. */
  private endpointsOf(key: string): ReturnType<typeof convertEndpoints> {
    const slices = [...(this.slicesByService.get(key)?.values() ?? [])];
    const pods = new Set<string>();
    for (const s of slices) {
      for (const e of s.endpoints ?? []) {
        const p = endpointPodKey(e, s.metadata?.namespace);
        if (p !== undefined) pods.add(p);
      }
    }
    for (const p of this.podsByService.get(key) ?? []) {
      if (pods.has(p)) continue;
      const s = this.servicesByPod.get(p);
      s?.delete(key);
      if (s?.size === 0) this.servicesByPod.delete(p);
    }
    for (const p of pods) {
      let s = this.servicesByPod.get(p);
      if (!s) this.servicesByPod.set(p, (s = new Set()));
      s.add(key);
    }
    if (pods.size > 0) this.podsByService.set(key, pods);
    else this.podsByService.delete(key);
    const fromSlices = convertEndpoints(slices, (k) => this.podInfos.get(k));
    const selecting = this.selecting.get(key);
    const entries = selecting && this.entriesByNamespace.get(selecting.namespace);
    if (!selecting || !entries || entries.size === 0) return fromSlices;
    return [...fromSlices, ...workloadEntryEndpoints(selecting, entries.values())].sort(
      byAddressAndPort,
    );
  }

  private wireEntries(): void {
    const changed = (ns: string) => {
      for (const [key, svc] of this.selecting) if (svc.namespace === ns) this.recompute(key);
    };
    const upsert = (obj: RawObject) => {
      const ns = obj.metadata?.namespace ?? '';
      const name = obj.metadata?.name ?? '';
      let m = this.entriesByNamespace.get(ns);
      try {
        const info = parseWorkloadEntryObject(obj);
        if (!m) this.entriesByNamespace.set(ns, (m = new Map<string, WorkloadEntryInfo>()));
        m.set(name, info);
      } catch (e) {
        // The CRD's schema refuses most of this; an entry that still gets here is left out.
        this.log.warn(
          { workloadEntry: `${ns}/${name}`, err: errorMessage(e) },
          'WorkloadEntry skipped',
        );
        if (!m?.delete(name)) return;
      }
      changed(ns);
    };
    this.entries.on('add', upsert);
    this.entries.on('update', upsert);
    this.entries.on('delete', (obj) => {
      const ns = obj.metadata?.namespace ?? '';
      const m = this.entriesByNamespace.get(ns);
      if (!m?.delete(obj.metadata?.name ?? '')) return;
      if (m.size === 0) this.entriesByNamespace.delete(ns);
      changed(ns);
    });
  }
}

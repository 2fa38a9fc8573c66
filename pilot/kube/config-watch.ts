/**
 * Pilot's traffic config from Kubernetes: resilient informers on RouteRules, DestinationPolicies
 * and EgressRules (plain JSON through lib/kube/http.ts, all namespaces) and on Ingresses (kept
 * only when of class `istio`), parsed once into a ConfigStore.
 *
 * A CRD that is not installed counts as "no objects of that kind" (logged once), so Pilot serves
 * a mesh without the chart's CRDs; the informer keeps retrying and picks the kind up once the CRD
 * appears. The raw objects stay in the informers' caches for the status writer.
 */
import type { V1Ingress } from '@kubernetes/client-node';
import { ListPageSize, type KubeHttp } from '../../lib/kube/http.ts';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import type { BackoffOptions } from '../../lib/kube/object-store.ts';
import type { Logger } from '../../lib/log.ts';
import { isIngressOfClass } from '../config/ingress.ts';
import type { ConfigSource, ConfigState } from '../config/model.ts';
import { ConfigKind, configKey } from '../config/model.ts';
import { CrdKinds, parseCrdObject, parseIngressObject, type CrdKind } from '../config/parse.ts';
import { ConfigStore } from '../config/store.ts';
import { customObjectInformer, withoutManagedFields, type RawObject } from './custom-objects.ts';

export const ConfigGroup = 'config.istio.io';
export const ConfigVersion = 'v1alpha2';

export interface KubeConfigWatchOptions {
  readonly http: KubeHttp;
  readonly logger: Logger;
  readonly domain: string;
  /** Ingresses of this class are Pilot's (the mesh config's `ingressClass`, `istio`). */
  readonly ingressClass: string;
  readonly backoff?: Partial<BackoffOptions>;
}

export class KubeConfigWatch implements ConfigSource {
  private readonly store = new ConfigStore();
  private readonly crds = new Map<CrdKind, Informer<RawObject>>();
  private readonly ingresses: Informer<V1Ingress>;
  private readonly log: Logger;

  constructor(o: KubeConfigWatchOptions) {
    this.log = o.logger.child({ component: 'config-watch' });
    const common = { http: o.http, logger: o.logger, ...(o.backoff ? { backoff: o.backoff } : {}) };
    for (const kind of Object.keys(CrdKinds) as CrdKind[]) {
      const plural = CrdKinds[kind];
      const informer = customObjectInformer({
        ...common,
        logger: this.log,
        group: ConfigGroup,
        version: ConfigVersion,
        plural,
        name: `pilot-${plural}`,
      });
      const upsert = (obj: RawObject) => {
        const parsed = parseCrdObject(kind, obj, o.domain);
        if (parsed) this.store.set(parsed.key, parsed.entry);
      };
      informer.on('add', upsert);
      informer.on('update', upsert);
      informer.on('delete', (obj) => {
        this.store.delete(
          configKey({
            kind,
            namespace: obj.metadata?.namespace ?? '',
            name: obj.metadata?.name ?? '',
          }),
        );
      });
      this.crds.set(kind, informer);
    }
    const ingressesPath = '/apis/networking.k8s.io/v1/ingresses';
    this.ingresses = createInformer<V1Ingress>({
      watcher: o.http,
      pageSize: ListPageSize,
      logger: o.logger,
      ...(o.backoff ? { backoff: o.backoff } : {}),
      path: ingressesPath,
      list: (opts) => o.http.list<V1Ingress>(ingressesPath, opts),
      transform: (ing) => withoutManagedFields(ing) as V1Ingress,
      name: 'pilot-ingresses',
    });
    const onIngress = (ing: V1Ingress) => {
      const key = configKey({
        kind: ConfigKind.Ingress,
        namespace: ing.metadata?.namespace ?? '',
        name: ing.metadata?.name ?? '',
      });
      if (!isIngressOfClass(ing, o.ingressClass)) {
        this.store.delete(key);
        return;
      }
      const parsed = parseIngressObject(ing, o.domain);
      if (parsed) this.store.set(parsed.key, parsed.entry);
    };
    this.ingresses.on('add', onIngress);
    this.ingresses.on('update', onIngress);
    this.ingresses.on('delete', (ing) => {
      this.store.delete(
        configKey({
          kind: ConfigKind.Ingress,
          namespace: ing.metadata?.namespace ?? '',
          name: ing.metadata?.name ?? '',
        }),
      );
    });
    this.store.setSyncCheck(() => this.syncProblem());
  }

  /** Starts the informers; resolves once every kind has been listed. */
  async start(): Promise<void> {
    const all = [...this.crds.values(), this.ingresses];
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.synced()));
    this.log.info({ ...this.counts() }, 'config synced');
    this.store.notify();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.crds.values(), this.ingresses].map((i) => i.stop()));
  }

  current(): ConfigState {
    return this.store.current();
  }

  onChange(listener: () => void): () => void {
    return this.store.onChange(listener);
  }

  notSynced(): string | undefined {
    return this.store.notSynced();
  }

  /** The object as the API server last sent it (for its status), if cached. */
  raw(kind: CrdKind, namespace: string, name: string): RawObject | undefined {
    return this.crds.get(kind)?.get(namespace, name);
  }

  private counts(): Record<string, number> {
    const s = this.current();
    return {
      routeRules: s.routeRules.length,
      destinationPolicies: s.destinationPolicies.length,
      egressRules: s.egressRules.length,
      ingresses: s.ingresses.length,
      rejected: s.rejected.length,
    };
  }

  private syncProblem(): string | undefined {
    const waiting: string[] = [...this.crds]
      .filter(([, i]) => !i.hasSynced())
      .map(([kind]) => CrdKinds[kind]);
    if (!this.ingresses.hasSynced()) waiting.push('ingresses');
    return waiting.length > 0 ? `config informers not synced: ${waiting.join(', ')}` : undefined;
  }
}

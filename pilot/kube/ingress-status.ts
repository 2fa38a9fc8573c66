/**
 * The address of Ingresses of class `istio`: what `kubectl get ingress` shows under ADDRESS, as
 * 0.2's ingress controller wrote it. Every Ingress Pilot serves gets, in `status.loadBalancer`,
 * the load-balancer addresses of the ingress gateway's Service (mesh config `ingressService`,
 * `istio-ingress`; in any namespace, addresses merged and sorted). When the Service has none (no
 * load balancer yet, NodePort, ClusterIP), the Ingresses' addresses are cleared.
 *
 * Written through the status subresource with a merge patch, only when it differs from what this
 * Pilot last wrote for that Ingress (once per Ingress after a start); a failed write is logged and
 * retried at the next change. Every replica computes the same addresses, so two writing is
 * harmless. Ingresses of other classes are never touched.
 */
import type { V1Service } from '@kubernetes/client-node';
import { errorMessage } from '../../lib/errors.ts';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import { ListPageSize, type KubeHttp } from '../../lib/kube/http.ts';
import type { Logger } from '../../lib/log.ts';

export interface IngressRef {
  readonly namespace: string;
  readonly name: string;
}

export interface IngressAddress {
  readonly ip?: string;
  readonly hostname?: string;
}

export interface IngressStatusOptions {
  readonly http: KubeHttp;
  readonly logger: Logger;
  /** The ingress gateway Service's name. */
  readonly ingressService: string;
}

/** The load-balancer addresses of these Services, deduplicated and sorted. */
export function gatewayAddresses(services: readonly V1Service[]): IngressAddress[] {
  const seen = new Map<string, IngressAddress>();
  for (const s of services) {
    for (const i of s.status?.loadBalancer?.ingress ?? []) {
      const a: IngressAddress = {
        ...(i.ip ? { ip: i.ip } : {}),
        ...(i.hostname ? { hostname: i.hostname } : {}),
      };
      if (a.ip !== undefined || a.hostname !== undefined) seen.set(JSON.stringify(a), a);
    }
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, a]) => a);
}

export class IngressStatusSync {
  private readonly o: IngressStatusOptions;
  private readonly log: Logger;
  private readonly services: Informer<V1Service>;
  private ingresses: readonly IngressRef[] = [];
  /** Ingress key → the addresses this Pilot last wrote there (JSON). */
  private readonly written = new Map<string, string>();
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(o: IngressStatusOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'ingress-status' });
    const fieldSelector = `metadata.name=${o.ingressService}`;
    const path = '/api/v1/services';
    this.services = createInformer<V1Service>({
      watcher: o.http,
      pageSize: ListPageSize,
      logger: o.logger,
      path,
      fieldSelector,
      list: (opts) => o.http.list<V1Service>(path, opts),
      name: 'pilot-ingress-service',
    });
    const changed = () => {
      this.schedule();
    };
    this.services.on('add', changed);
    this.services.on('update', changed);
    this.services.on('delete', changed);
  }

  start(): void {
    this.services.start();
    this.services.synced().then(
      () => {
        this.schedule();
      },
      () => undefined, // stopped before the first list
    );
  }

  /** The Ingresses Pilot serves now (after each build). */
  setIngresses(ingresses: readonly IngressRef[]): void {
    this.ingresses = ingresses;
    this.schedule();
  }

  /** Resolves when every write scheduled so far is done (tests, shutdown). */
  idle(): Promise<void> {
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.services.stop();
    await this.running;
  }

  private schedule(): void {
    if (!this.services.hasSynced()) return; // the first list's add events arrive before sync
    this.running = this.running.then(() => this.sync());
  }

  private async sync(): Promise<void> {
    if (this.stopped) return;
    const addresses = gatewayAddresses(this.services.list());
    const want = JSON.stringify(addresses);
    const live = new Set<string>();
    for (const ing of this.ingresses) {
      const key = `${ing.namespace}/${ing.name}`;
      live.add(key);
      if (this.written.get(key) === want) continue;
      if (await this.write(ing, addresses)) this.written.set(key, want);
    }
    for (const key of this.written.keys()) if (!live.has(key)) this.written.delete(key);
  }

  private async write(ing: IngressRef, addresses: readonly IngressAddress[]): Promise<boolean> {
    const path = `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(ing.namespace)}/ingresses/${encodeURIComponent(ing.name)}/status`;
    const body = JSON.stringify({
      status: { loadBalancer: { ingress: addresses.length > 0 ? addresses : null } },
    });
    try {
      const res = await this.o.http.request('PATCH', path, body, 'application/merge-patch+json');
      if (res.status === 404) return true; // deleted meanwhile: nothing to write
      if (res.status >= 300)
        throw new Error(`HTTP ${String(res.status)}: ${res.body.slice(0, 300)}`);
      this.log.info({ ingress: `${ing.namespace}/${ing.name}`, addresses }, 'Ingress address set');
      return true;
    } catch (e) {
      this.log.warn(
        { ingress: `${ing.namespace}/${ing.name}`, error: errorMessage(e) },
        'cannot set the Ingress address; retried at the next change',
      );
      return false;
    }
  }
}

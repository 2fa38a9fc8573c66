/**
 * One push's view of the mesh: every resource shared by all proxies, generated from one registry
 * state and encoded once. A `MeshBuilder` keeps the resources of services whose objects did not
 * change (registries keep identities), so a one-endpoint change re-encodes one service, not all.
 */
import type { Endpoint, RegistryState, Service } from '../model/service.ts';
import { isHttp, type Protocol } from '../model/protocol.ts';
import { passthroughClusters, serviceClusters } from '../generate/clusters.ts';
import type { GenContext } from '../generate/context.ts';
import { serviceLoadAssignments } from '../generate/endpoints.ts';
import { grpcServiceResources } from '../generate/grpc.ts';
import type { InboundPort } from '../generate/inbound.ts';
import { outboundListener } from '../generate/outbound-listener.ts';
import type { Resource } from '../generate/resource.ts';
import { httpPorts, outboundRouteConfig } from '../generate/routes.ts';

export interface MeshBuild {
  /** Increases by one per build. */
  readonly version: number;
  readonly state: RegistryState;
  readonly ctx: GenContext;
  /** When the oldest registry change this build includes happened (ms since epoch). */
  readonly changedAt: number;
  readonly sidecarClusters: readonly Resource[];
  readonly grpcClusters: readonly Resource[];
  readonly endpoints: readonly Resource[];
  readonly outboundListener: Resource;
  readonly grpcListeners: readonly Resource[];
  readonly grpcRoutes: readonly Resource[];
  /** Outbound route configurations as seen from a namespace (memoized). */
  routesFor(namespace: string): readonly Resource[];
  /** The ports served at `ip` by registered endpoints: a sidecar's inbound side. */
  inboundPorts(ip: string): readonly InboundPort[];
}

interface ServiceEntry {
  readonly svc: Service;
  readonly eps: readonly Endpoint[];
  readonly ctx: GenContext;
  readonly sidecarClusters: readonly Resource[];
  readonly grpcClusters: readonly Resource[];
  readonly endpoints: readonly Resource[];
  readonly grpcListeners: readonly Resource[];
  readonly grpcRoutes: readonly Resource[];
}

const noEndpoints: readonly Endpoint[] = [];

/** What stays valid while the set of services (not their endpoints) is unchanged. */
class ServicesView {
  readonly routeCache = new Map<string, readonly Resource[]>();
  readonly httpPorts: Map<number, Service[]>;
  listener:
    | { readonly headless: readonly (readonly Endpoint[])[]; readonly resource: Resource }
    | undefined;

  readonly services: RegistryState['services'];
  readonly ctx: GenContext;

  constructor(services: RegistryState['services'], ctx: GenContext) {
    this.services = services;
    this.ctx = ctx;
    this.httpPorts = httpPorts(services.values());
  }
}

export class MeshBuilder {
  private version = 0;
  private cache = new Map<string, ServiceEntry>();
  private view: ServicesView | undefined;

  build(state: RegistryState, ctx: GenContext, changedAt: number): MeshBuild {
    const next = new Map<string, ServiceEntry>();
    for (const svc of state.services.values()) {
      const eps = state.endpoints.get(svc.hostname) ?? noEndpoints;
      const old = this.cache.get(svc.hostname);
      next.set(svc.hostname, this.entry(old, svc, eps, ctx));
    }
    this.cache = next;
    this.version++;
    const entries = [...next.values()].sort((a, b) => (a.svc.hostname < b.svc.hostname ? -1 : 1));
    if (this.view?.services !== state.services || this.view.ctx !== ctx) {
      this.view = new ServicesView(state.services, ctx);
    }
    return new Build({ version: this.version, state, ctx, changedAt, entries, view: this.view });
  }

  private entry(
    old: ServiceEntry | undefined,
    svc: Service,
    eps: readonly Endpoint[],
    ctx: GenContext,
  ): ServiceEntry {
    if (old && old.svc === svc && old.ctx === ctx) {
      if (old.eps === eps) return old;
      // Endpoints changed: load assignments always; clusters too (their peer identities may have).
      return {
        ...old,
        eps,
        sidecarClusters: serviceClusters(ctx, svc, eps, false),
        endpoints: serviceLoadAssignments(svc, eps),
      };
    }
    const grpc = grpcServiceResources(svc);
    return {
      svc,
      eps,
      ctx,
      sidecarClusters: serviceClusters(ctx, svc, eps, false),
      grpcClusters: serviceClusters(ctx, svc, eps, true),
      endpoints: serviceLoadAssignments(svc, eps),
      grpcListeners: grpc.listeners,
      grpcRoutes: grpc.routes,
    };
  }
}

interface BuildInput {
  readonly version: number;
  readonly state: RegistryState;
  readonly ctx: GenContext;
  readonly changedAt: number;
  readonly entries: readonly ServiceEntry[];
  readonly view: ServicesView;
}

/** The outbound listener, reused while services and headless services' endpoints are unchanged. */
function listenerFor(view: ServicesView, state: RegistryState): Resource {
  const headless: (readonly Endpoint[])[] = [];
  for (const svc of view.services.values()) {
    if (svc.clusterIP === undefined)
      headless.push(state.endpoints.get(svc.hostname) ?? noEndpoints);
  }
  const l = view.listener;
  if (l && l.headless.length === headless.length && l.headless.every((e, i) => e === headless[i])) {
    return l.resource;
  }
  const resource = outboundListener(state);
  view.listener = { headless, resource };
  return resource;
}

class Build implements MeshBuild {
  readonly version: number;
  readonly state: RegistryState;
  readonly ctx: GenContext;
  readonly changedAt: number;
  readonly sidecarClusters: readonly Resource[];
  readonly grpcClusters: readonly Resource[];
  readonly endpoints: readonly Resource[];
  readonly outboundListener: Resource;
  readonly grpcListeners: readonly Resource[];
  readonly grpcRoutes: readonly Resource[];
  private readonly view: ServicesView;
  private readonly byIp = new Map<string, Map<number, Protocol>>();

  constructor(b: BuildInput) {
    const { entries, ctx } = b;
    this.version = b.version;
    this.state = b.state;
    this.ctx = ctx;
    this.changedAt = b.changedAt;
    this.view = b.view;
    this.sidecarClusters = [
      ...entries.flatMap((e) => e.sidecarClusters),
      ...passthroughClusters(ctx),
    ];
    this.grpcClusters = entries.flatMap((e) => e.grpcClusters);
    this.endpoints = entries.flatMap((e) => e.endpoints);
    this.grpcListeners = entries.flatMap((e) => e.grpcListeners);
    this.grpcRoutes = entries.flatMap((e) => e.grpcRoutes);
    this.outboundListener = listenerFor(b.view, b.state);
    for (const e of entries) this.indexInbound(e);
  }

  private indexInbound(e: ServiceEntry): void {
    for (const ep of e.eps) {
      const sp = e.svc.ports.find((p) => p.name === ep.servicePortName);
      if (sp === undefined || sp.protocol === 'UDP') continue;
      let ports = this.byIp.get(ep.address);
      if (!ports) this.byIp.set(ep.address, (ports = new Map<number, Protocol>()));
      // Two services on one target port with different protocols: HTTP wins (TCP would lose
      // every HTTP feature of the other).
      const had = ports.get(ep.port);
      if (had === undefined || (!isHttp(had) && isHttp(sp.protocol)))
        ports.set(ep.port, sp.protocol);
    }
  }

  routesFor(namespace: string): readonly Resource[] {
    const cache = this.view.routeCache;
    let r = cache.get(namespace);
    if (!r) {
      r = [...this.view.httpPorts.entries()].map(([port, svcs]) =>
        outboundRouteConfig(port, svcs, namespace),
      );
      cache.set(namespace, r);
    }
    return r;
  }

  inboundPorts(ip: string): readonly InboundPort[] {
    const ports = this.byIp.get(ip);
    return ports ? [...ports].map(([port, protocol]) => ({ port, protocol })) : [];
  }
}

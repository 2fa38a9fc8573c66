/**
 * One push's view of the mesh: the registry and the config at one moment, the traffic model
 * resolved from them, and every resource shared by proxies, encoded once. A `MeshBuilder` keeps
 * the resources of services whose objects did not change (registries keep identities; the
 * resolver keeps unchanged hosts' traffic), so a one-endpoint change re-encodes one service.
 *
 * What differs between proxies is asked for per proxy: its inbound ports, and its source view
 * (which source-restricted RouteRules and DestinationPolicies apply to it). Proxies with no such
 * rule share everything; views are computed once per build and kept.
 */
import { isStringRecord } from '../../lib/json.ts';
import { emptyConfig, type ConfigState } from '../config/model.ts';
import type { Proxy } from '../model/proxy.ts';
import type { Endpoint, RegistryState, Service } from '../model/service.ts';
import { passthroughClusters, serviceClusters } from '../generate/clusters.ts';
import type { GenContext } from '../generate/context.ts';
import { grpcRouteConfigs } from '../generate/grpc.ts';
import type { InboundPort } from '../generate/inbound.ts';
import { outboundListener, type EgressPorts } from '../generate/outbound-listener.ts';
import { mixerFilters, mixerKey, sameMixer, type MixerFilters } from '../generate/mixer.ts';
import { proxylessNotes } from '../generate/policy.ts';
import type { Resource } from '../generate/resource.ts';
import { httpPorts, outboundRouteConfig, type RouteInputs } from '../generate/routes.ts';
import { resolveTraffic } from '../traffic/resolve.ts';
import {
  emptyHostTraffic,
  noSourceView,
  sourceView,
  type SourceView,
  type Traffic,
  type Workload,
} from '../traffic/traffic.ts';
import { egressSet, type EgressSet } from './egress-set.ts';
import { gatewayKey, gatewayPorts, gatewayResources, type GatewayResources } from './gateways.ts';
import { IpIndex, type IpLookup } from './ip-index.ts';
import { serviceEntry, type ServiceEntry } from './service-entry.ts';
import { hcmTracing, sameTracing, type HcmTracing } from '../generate/tracing.ts';

/** The egress gateway's service name (0.2's `istio-egress`). */
export const EgressServiceName = 'istio-egress';

export type ClusterFlavor = 'sidecar' | 'grpc';

export interface MeshBuild {
  /** Increases by one per build. */
  readonly version: number;
  readonly state: RegistryState;
  readonly config: ConfigState;
  readonly traffic: Traffic;
  readonly ctx: GenContext;
  /** When the oldest change this build includes happened (ms since epoch). */
  readonly changedAt: number;
  readonly endpoints: readonly Resource[];
  readonly outboundListener: Resource;
  readonly grpcListeners: readonly Resource[];
  /** What proxyless clients get differently from sidecars (lines for /debug/configz). */
  readonly notes: readonly string[];
  /** The mesh's outbound clusters for a proxy with `view`. */
  clustersFor(flavor: ClusterFlavor, view: SourceView): readonly Resource[];
  /** Proxyless route configurations for a proxy with `view`. */
  grpcRoutesFor(view: SourceView): readonly Resource[];
  /** Outbound route configurations as seen from a namespace and view (memoized). */
  routesFor(namespace: string, view: SourceView): readonly Resource[];
  /** The ports served at `ip` by registered endpoints: a sidecar's inbound side. */
  inboundPorts(ip: string): readonly InboundPort[];
  /** Which source-restricted rules and policies apply to the proxy. */
  viewOf(proxy: Proxy): SourceView;
  /** A gateway's own listeners, routes and clusters (ingress and egress), by what it serves. */
  gatewayFor(proxy: Proxy): GatewayResources;
  /** Proxies with equal keys get equal snapshots (kind, namespace, ports, gateway role, view). */
  proxyKey(proxy: Proxy): string;
}

const noEndpoints: readonly Endpoint[] = [];

/** Route configurations stay valid while the services and the traffic are the same objects. */
class RouteCaches {
  readonly services: RegistryState['services'];
  readonly traffic: Traffic;
  readonly httpPorts: ReadonlyMap<number, readonly Service[]>;
  readonly egress: EgressSet;
  readonly routes = new Map<string, readonly Resource[]>();
  readonly grpcRoutes = new Map<string, readonly Resource[]>();
  readonly gateways = new Map<string, GatewayResources>();

  constructor(ctx: GenContext, state: RegistryState, traffic: Traffic) {
    this.services = state.services;
    this.traffic = traffic;
    this.egress = egressSet(ctx, state, traffic, EgressServiceName);
    const ports = new Map(httpPorts(state.services.values()));
    for (const port of this.egress.hostsByPort.keys()) if (!ports.has(port)) ports.set(port, []);
    this.httpPorts = ports;
  }
}

export class MeshBuilder {
  private version = 0;
  private cache = new Map<string, ServiceEntry>();
  private readonly ips = new IpIndex();
  private traffic: Traffic | undefined;
  private routeCaches: RouteCaches | undefined;
  private listener:
    | {
        readonly services: RegistryState['services'];
        readonly egress: EgressPorts;
        readonly mixer: MixerFilters;
        readonly tracing: HcmTracing | undefined;
        readonly headless: readonly (readonly Endpoint[])[];
        readonly resource: Resource;
      }
    | undefined;

  build(
    state: RegistryState,
    ctx: GenContext,
    changedAt: number,
    config: ConfigState = emptyConfig,
  ): MeshBuild {
    const traffic = resolveTraffic({
      state,
      config,
      egressService: EgressServiceName,
      previous: this.traffic,
    });
    this.traffic = traffic;
    const next = new Map<string, ServiceEntry>();
    for (const svc of state.services.values()) {
      const eps = state.endpoints.get(svc.hostname) ?? noEndpoints;
      const t = traffic.hosts.get(svc.hostname) ?? emptyHostTraffic;
      next.set(svc.hostname, serviceEntry(this.cache.get(svc.hostname), svc, eps, ctx, t));
    }
    this.cache = next;
    this.version++;
    const entries = [...next.values()].sort((a, b) => (a.svc.hostname < b.svc.hostname ? -1 : 1));
    let caches = this.routeCaches;
    if (caches?.services !== state.services || caches.traffic !== traffic) {
      caches = new RouteCaches(ctx, state, traffic);
      this.routeCaches = caches;
    }
    return new Build({
      caches,
      version: this.version,
      state,
      config,
      traffic,
      ctx,
      changedAt,
      entries,
      byIp: this.ips.update(next),
      outboundListener: this.listenerFor(
        state,
        caches.egress.ports,
        mixerFilters(ctx.mesh),
        hcmTracing(ctx.mesh),
      ),
    });
  }

  /** The outbound listener, reused while services and headless services' endpoints are unchanged. */
  private listenerFor(
    state: RegistryState,
    egress: EgressPorts,
    mixer: MixerFilters,
    tracing: HcmTracing | undefined,
  ): Resource {
    const headless: (readonly Endpoint[])[] = [];
    for (const svc of state.services.values()) {
      if (svc.clusterIP === undefined)
        headless.push(state.endpoints.get(svc.hostname) ?? noEndpoints);
    }
    const l = this.listener;
    if (
      l?.services === state.services &&
      l.egress === egress &&
      sameMixer(l.mixer, mixer) &&
      sameTracing(l.tracing, tracing) &&
      l.headless.length === headless.length &&
      l.headless.every((e, i) => e === headless[i])
    ) {
      return l.resource;
    }
    const resource = outboundListener(state, egress, mixer, tracing);
    this.listener = { services: state.services, egress, mixer, tracing, headless, resource };
    return resource;
  }
}

interface BuildInput {
  readonly version: number;
  readonly state: RegistryState;
  readonly config: ConfigState;
  readonly traffic: Traffic;
  readonly ctx: GenContext;
  readonly changedAt: number;
  readonly entries: readonly ServiceEntry[];
  readonly byIp: IpLookup;
  readonly outboundListener: Resource;
  readonly caches: RouteCaches;
}

class Build implements MeshBuild {
  readonly version: number;
  readonly state: RegistryState;
  readonly config: ConfigState;
  readonly traffic: Traffic;
  readonly ctx: GenContext;
  readonly changedAt: number;
  readonly endpoints: readonly Resource[];
  readonly outboundListener: Resource;
  readonly grpcListeners: readonly Resource[];
  readonly notes: readonly string[];
  private readonly entries: readonly ServiceEntry[];
  private readonly caches: RouteCaches;
  private readonly byIp: IpLookup;
  private readonly clusterCache = new Map<string, readonly Resource[]>();

  constructor(b: BuildInput) {
    this.version = b.version;
    this.state = b.state;
    this.config = b.config;
    this.traffic = b.traffic;
    this.ctx = b.ctx;
    this.changedAt = b.changedAt;
    this.entries = b.entries;
    this.caches = b.caches;
    this.endpoints = b.entries.flatMap((e) => e.endpoints);
    this.grpcListeners = b.entries.flatMap((e) => e.grpcListeners);
    this.outboundListener = b.outboundListener;
    this.notes = [
      ...new Set(
        [...b.traffic.hosts.values()].flatMap((t) => [
          ...t.policies.flatMap(proxylessNotes),
          ...t.rules
            .filter((r) => r.rule.redirect !== undefined)
            .map(
              (r) =>
                `proxyless gRPC clients skip ${r.rule.meta.namespace}/${r.rule.meta.name} (redirect)`,
            ),
        ]),
      ),
    ];
    this.byIp = b.byIp;
  }

  private inputs(view: SourceView): RouteInputs {
    return { traffic: this.traffic, services: this.state.services, view };
  }

  gatewayFor(proxy: Proxy): GatewayResources {
    const ports = gatewayPorts(this.state, proxy, this.ctx.mesh.ingressService, EgressServiceName);
    const mixer = mixerFilters(this.ctx.mesh);
    const key = `${gatewayKey(ports)}|${mixerKey(mixer)}`;
    const cache = this.caches.gateways;
    let g = cache.get(key);
    if (!g) {
      g = gatewayResources(
        ports,
        this.traffic,
        this.state.services,
        this.caches.egress,
        hcmTracing(this.ctx.mesh),
        mixer,
      );
      cache.set(key, g);
    }
    return g;
  }

  proxyKey(proxy: Proxy): string {
    const inbound =
      proxy.kind === 'sidecar' && proxy.ip !== undefined ? this.inboundPorts(proxy.ip) : [];
    const gateway =
      proxy.kind === 'router'
        ? gatewayKey(
            gatewayPorts(this.state, proxy, this.ctx.mesh.ingressService, EgressServiceName),
          )
        : '';
    const ports = inbound.map((p) => `${p.port}/${p.protocol}`).join(',');
    return `${proxy.kind}|${proxy.namespace}|${ports}|${gateway}|${this.viewOf(proxy).key}`;
  }

  clustersFor(flavor: ClusterFlavor, view: SourceView): readonly Resource[] {
    const key = `${flavor}|${view.key}`;
    let r = this.clusterCache.get(key);
    if (!r) {
      const forGrpc = flavor === 'grpc';
      r = this.entries.flatMap((e) => {
        if (e.sourced && view !== noSourceView) {
          return serviceClusters(this.ctx, e.svc, e.eps, forGrpc, e.traffic, view);
        }
        return forGrpc ? e.grpcClusters : e.sidecarClusters;
      });
      if (!forGrpc)
        r = [...r, ...this.caches.egress.sidecarClusters, ...passthroughClusters(this.ctx)];
      this.clusterCache.set(key, r);
    }
    return r;
  }

  grpcRoutesFor(view: SourceView): readonly Resource[] {
    const cache = this.caches.grpcRoutes;
    let r = cache.get(view.key);
    if (!r) {
      const inputs = this.inputs(view);
      r = this.entries.flatMap((e) => grpcRouteConfigs(e.svc, inputs));
      cache.set(view.key, r);
    }
    return r;
  }

  routesFor(namespace: string, view: SourceView): readonly Resource[] {
    const key = `${namespace}|${view.key}`;
    const cache = this.caches.routes;
    let r = cache.get(key);
    if (!r) {
      const inputs = this.inputs(view);
      const egress = this.caches.egress.hostsByPort;
      r = [...this.caches.httpPorts.entries()].map(([port, svcs]) =>
        outboundRouteConfig(port, svcs, namespace, { ...inputs, egress: egress.get(port) ?? [] }),
      );
      cache.set(key, r);
    }
    return r;
  }

  inboundPorts(ip: string): readonly InboundPort[] {
    const ports = this.byIp.get(ip)?.ports;
    return ports ? [...ports].map(([port, protocol]) => ({ port, protocol })) : [];
  }

  viewOf(proxy: Proxy): SourceView {
    if (this.traffic.sourced.length === 0) return noSourceView;
    const info = proxy.ip === undefined ? undefined : this.byIp.get(proxy.ip);
    const meta = proxy.metadata['LABELS'];
    const w: Workload = {
      labels: { ...info?.labels, ...(isStringRecord(meta) ? meta : {}) },
      services: info?.services ?? new Set(),
    };
    return sourceView(this.traffic, w);
  }
}

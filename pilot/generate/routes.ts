/**
 * Outbound route configurations (RDS): one per HTTP port, a virtual host per service on that port
 * reachable by every name Kubernetes DNS gives it (the short name only from its own namespace),
 * with the RouteRules of its destination before its default route, the EgressRule hosts on the
 * port, and a last `allow_any` host that passes unknown hosts through unchanged.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Route, RouteConfiguration, VirtualHost } from '../../lib/xds/types.ts';
import { isHttp } from '../model/protocol.ts';
import { isKubernetesService, type RegistryState, type Service } from '../model/service.ts';
import { targetPort } from '../traffic/resolve.ts';
import {
  emptyHostTraffic,
  type RouteTarget,
  type SourceView,
  type Traffic,
} from '../traffic/traffic.ts';
import { duration } from './filters.ts';
import { ClusterName, outboundClusterName, outboundRouteName } from './names.ts';
import { makeResource, type Resource } from './resource.ts';
import { routeClusters, ruleRoutes, type RouteFlavor } from './rule-routes.ts';

/**
 * The names a client in `fromNamespace` may use for `svc`, each bare and with `:port`: a
 * Kubernetes service's DNS names, or another registry's service's hostname alone.
 */
export function serviceDomains(svc: Service, port: number, fromNamespace: string): string[] {
  const names = [svc.hostname];
  if (isKubernetesService(svc)) {
    names.push(`${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}`);
    if (svc.namespace === fromNamespace) names.push(svc.name);
  }
  const out: string[] = [];
  for (const n of names) out.push(n, `${n}:${port}`);
  if (svc.clusterIP !== undefined) {
    const ip = svc.clusterIP.includes(':') ? `[${svc.clusterIP}]` : svc.clusterIP;
    out.push(ip, `${ip}:${port}`);
  }
  return out;
}

function routeTo(cluster: string): Route {
  // No route timeout: streams (gRPC, WebSocket) live as long as they need.
  return { name: 'default', match: { prefix: '/' }, route: { cluster, timeout: duration(0) } };
}

/** The HTTP service ports of the mesh, each with the services that have it. */
export function httpPorts(services: Iterable<Service>): Map<number, Service[]> {
  const byPort = new Map<number, Service[]>();
  for (const svc of services) {
    for (const p of svc.ports) {
      if (!isHttp(p.protocol)) continue;
      const list = byPort.get(p.port);
      if (list) list.push(svc);
      else byPort.set(p.port, [svc]);
    }
  }
  return byPort;
}

/** What outbound route configurations read besides the services on the port. */
export interface RouteInputs {
  readonly traffic: Traffic;
  readonly services: RegistryState['services'];
  readonly view: SourceView;
  /** Virtual hosts of external (EgressRule) hosts on this port, before the passthrough one. */
  readonly egress?: readonly EgressHost[];
}

/** An external host's virtual host on one port: its domains and the cluster it goes to. */
export interface EgressHost {
  readonly host: string;
  readonly domains: readonly string[];
  readonly cluster: string;
  /** Headers the sidecar adds (the egress gateway's port marker). */
  readonly headers: Readonly<Record<string, string>>;
}

/** The cluster a share of a rule for `port` goes to (another service: its matching port). */
export function clusterForTarget(
  services: RegistryState['services'],
  destination: string,
  port: number,
): (t: RouteTarget) => string {
  return (t) => {
    const svc = services.get(t.host);
    const p = t.host === destination || svc === undefined ? port : (targetPort(svc, port) ?? port);
    return outboundClusterName(p, t.host, t.subset);
  };
}

/** A virtual host's routes: the destination's rules, then its default route. */
export function hostRoutes(
  host: string,
  port: number,
  cluster: string,
  inputs: RouteInputs,
  flavor: RouteFlavor,
): Route[] {
  const t = inputs.traffic.hosts.get(host) ?? emptyHostTraffic;
  const mesh = clusterForTarget(inputs.services, host, port);
  const rules = ruleRoutes(t.rules, {
    flavor,
    view: inputs.view,
    // An external host's own shares go where its virtual host goes (direct, or the gateway).
    clusterFor: (x) => (inputs.services.has(host) || x.host !== host ? mesh(x) : cluster),
    defaultCluster: cluster,
  });
  const last =
    flavor === 'grpc'
      ? { name: 'default', match: { prefix: '' }, route: { cluster } }
      : routeTo(cluster);
  return [...rules, last];
}

/** The route configuration for outbound HTTP on `port`, as seen from `fromNamespace`. */
export function outboundRouteConfig(
  port: number,
  services: readonly Service[],
  fromNamespace: string,
  inputs: RouteInputs,
): Resource {
  const sorted = [...services].sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
  const seen = new Set<string>();
  const hosts: VirtualHost[] = [];
  const clusters: string[] = [];
  for (const svc of sorted) {
    // A domain may appear once per route configuration; the first service (by name) keeps it.
    const domains = serviceDomains(svc, port, fromNamespace).filter((d) => !seen.has(d));
    if (domains.length === 0) continue;
    for (const d of domains) seen.add(d);
    const routes = hostRoutes(
      svc.hostname,
      port,
      outboundClusterName(port, svc.hostname),
      inputs,
      'envoy',
    );
    clusters.push(...routeClusters(routes));
    hosts.push({ name: `${svc.hostname}:${port}`, domains, routes });
  }
  for (const e of inputs.egress ?? []) {
    const domains = e.domains.filter((d) => !seen.has(d));
    if (domains.length === 0) continue;
    for (const d of domains) seen.add(d);
    const routes = hostRoutes(e.host, port, e.cluster, inputs, 'envoy');
    clusters.push(...routeClusters(routes));
    const add = Object.entries(e.headers).map(([key, value]) => ({
      header: { key, value },
      append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' as const,
    }));
    hosts.push({
      name: `${e.host}:${port}`,
      domains,
      routes,
      ...(add.length > 0 ? { request_headers_to_add: add } : {}),
    });
  }
  hosts.push({ name: 'allow_any', domains: ['*'], routes: [routeTo(ClusterName.Passthrough)] });
  clusters.push(ClusterName.Passthrough);
  const name = outboundRouteName(port);
  const rc: RouteConfiguration = {
    name,
    virtual_hosts: hosts,
    validate_clusters: { value: false },
  };
  return makeResource(TypeUrl.RouteConfiguration, name, rc, { clusters: [...new Set(clusters)] });
}

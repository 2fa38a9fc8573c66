/**
 * Outbound route configurations (RDS): one per HTTP port, a virtual host per service on that port
 * reachable by every name Kubernetes DNS gives it (the short name only from its own namespace),
 * and a last `allow_any` host that passes unknown hosts through unchanged.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RouteConfiguration, VirtualHost } from '../../lib/xds/types.ts';
import { isHttp } from '../model/protocol.ts';
import type { Service } from '../model/service.ts';
import { duration } from './filters.ts';
import { ClusterName, outboundClusterName, outboundRouteName } from './names.ts';
import { makeResource, type Resource } from './resource.ts';

/** The names a client in `fromNamespace` may use for `svc`, each bare and with `:port`. */
export function serviceDomains(svc: Service, port: number, fromNamespace: string): string[] {
  const names = [svc.hostname, `${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}`];
  if (svc.namespace === fromNamespace) names.push(svc.name);
  const out: string[] = [];
  for (const n of names) out.push(n, `${n}:${port}`);
  if (svc.clusterIP !== undefined) {
    const ip = svc.clusterIP.includes(':') ? `[${svc.clusterIP}]` : svc.clusterIP;
    out.push(ip, `${ip}:${port}`);
  }
  return out;
}

function routeTo(cluster: string): NonNullable<VirtualHost['routes']>[number] {
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

/** The route configuration for outbound HTTP on `port`, as seen from `fromNamespace`. */
export function outboundRouteConfig(
  port: number,
  services: readonly Service[],
  fromNamespace: string,
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
    const cluster = outboundClusterName(port, svc.hostname);
    clusters.push(cluster);
    hosts.push({ name: `${svc.hostname}:${port}`, domains, routes: [routeTo(cluster)] });
  }
  hosts.push({ name: 'allow_any', domains: ['*'], routes: [routeTo(ClusterName.Passthrough)] });
  clusters.push(ClusterName.Passthrough);
  const name = outboundRouteName(port);
  const rc: RouteConfiguration = {
    name,
    virtual_hosts: hosts,
    validate_clusters: { value: false },
  };
  return makeResource(TypeUrl.RouteConfiguration, name, rc, { clusters });
}

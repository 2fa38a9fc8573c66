/**
 * The sidecar's outbound listener on 15001 (iptables sends every outbound connection there). The
 * original-destination listener filter restores where the app was connecting, and filter chains
 * match on it: an HTTP port goes to an HTTP connection manager with RDS, a TCP service port (by
 * cluster IP, or by each pod's IP for a headless service) to a TCP proxy, Mongo ports through
 * Envoy's Mongo filter first; anything else passes through untouched.
 */
import { isIPv6 } from 'node:net';
import { Port } from '../../lib/ports.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { FilterChain, Listener } from '../../lib/xds/types.ts';
import { isHttp } from '../model/protocol.ts';
import type { RegistryState, Service, ServicePort } from '../model/service.ts';
import { hcmFilter, mongoProxyFilter, originalDstFilter, tcpProxyFilter } from './filters.ts';
import { ClusterName, ListenerName, outboundClusterName, outboundRouteName } from './names.ts';
import { makeResource, type Resource } from './resource.ts';

function cidr(ip: string): { address_prefix: string; prefix_len: { value: number } } {
  return { address_prefix: ip, prefix_len: { value: isIPv6(ip) ? 128 : 32 } };
}

function tcpChain(svc: Service, p: ServicePort, ips: readonly string[]): FilterChain {
  const cluster = outboundClusterName(p.port, svc.hostname);
  const stat = `outbound|${p.port}||${svc.hostname}`;
  const filters = [
    ...(p.protocol === 'MONGO' ? [mongoProxyFilter(stat)] : []),
    tcpProxyFilter(stat, cluster),
  ];
  return {
    name: cluster,
    filter_chain_match: { destination_port: { value: p.port }, prefix_ranges: ips.map(cidr) },
    filters,
  };
}

/** The addresses a TCP port of `svc` is reached on: its cluster IP, or its pods' IPs. */
function serviceIps(state: RegistryState, svc: Service): string[] {
  if (svc.clusterIP !== undefined) return [svc.clusterIP];
  const ips = new Set<string>();
  for (const e of state.endpoints.get(svc.hostname) ?? []) if (e.ready) ips.add(e.address);
  return [...ips].sort();
}

export function outboundListener(state: RegistryState): Resource {
  const services = [...state.services.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
  const chains: FilterChain[] = [];
  const clusters: string[] = [ClusterName.Passthrough];
  const routes: string[] = [];
  const httpPorts = new Set<number>();
  const taken = new Set<string>();
  for (const svc of services) {
    for (const p of svc.ports) {
      if (p.protocol === 'UDP') continue;
      if (isHttp(p.protocol)) {
        httpPorts.add(p.port);
        continue;
      }
      // One chain per (port, address): the first service by name keeps a shared pod address.
      const ips = serviceIps(state, svc).filter((ip) => !taken.has(`${p.port}|${ip}`));
      if (ips.length === 0) continue;
      for (const ip of ips) taken.add(`${p.port}|${ip}`);
      chains.push(tcpChain(svc, p, ips));
      clusters.push(outboundClusterName(p.port, svc.hostname));
    }
  }
  for (const port of [...httpPorts].sort((a, b) => a - b)) {
    const route = outboundRouteName(port);
    routes.push(route);
    chains.push({
      name: `0.0.0.0_${port}`,
      filter_chain_match: { destination_port: { value: port } },
      filters: [
        hcmFilter({ statPrefix: `outbound_0.0.0.0_${port}`, routes: { rds: route }, faults: true }),
      ],
    });
  }
  const l: Listener = {
    name: ListenerName.Outbound,
    address: { socket_address: { address: '0.0.0.0', port_value: Port.OutboundCapture } },
    traffic_direction: 'OUTBOUND',
    listener_filters: [originalDstFilter()],
    filter_chains: chains,
    default_filter_chain: {
      name: ClusterName.Passthrough,
      filters: [tcpProxyFilter(ClusterName.Passthrough, ClusterName.Passthrough)],
    },
  };
  return makeResource(TypeUrl.Listener, ListenerName.Outbound, l, { clusters, routes });
}

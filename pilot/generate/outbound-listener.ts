/**
 * The sidecar's outbound listener on 15001 (iptables sends every outbound connection there). The
 * original-destination listener filter restores where the app was connecting, and filter chains
 * match on it: an HTTP port goes to an HTTP connection manager with RDS, a TCP service port (by
 * cluster IP, or by each pod's IP for a headless service) to a TCP proxy, Mongo ports through
 * Envoy's Mongo filter first; EgressRule ports are HTTP too (see egress.ts); anything else passes
 * through untouched.
 */
import { isIPv6 } from 'node:net';
import { Port } from '../../lib/ports.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type {
  FilterChain,
  Listener,
  ListenerFilter,
  ListenerFilterChainMatchPredicate,
} from '../../lib/xds/types.ts';
import { isHttp } from '../model/protocol.ts';
import type { RegistryState, Service, ServicePort } from '../model/service.ts';
import {
  hcmFilter,
  mongoProxyFilter,
  originalDstFilter,
  tcpProxyFilter,
  tlsInspectorFilter,
} from './filters.ts';
import { noMixer, reporter, type MixerFilters } from './mixer.ts';
import { ClusterName, ListenerName, outboundClusterName, outboundRouteName } from './names.ts';
import { makeResource, type Resource } from './resource.ts';
import type { HcmTracing } from './tracing.ts';

function cidr(ip: string): { address_prefix: string; prefix_len: { value: number } } {
  return { address_prefix: ip, prefix_len: { value: isIPv6(ip) ? 128 : 32 } };
}

function tcpChain(
  svc: Service,
  p: ServicePort,
  ips: readonly string[],
  mixer: MixerFilters,
): FilterChain {
  const cluster = outboundClusterName(p.port, svc.hostname);
  const stat = `outbound|${p.port}||${svc.hostname}`;
  const filters = [
    ...(p.protocol === 'MONGO' ? [mongoProxyFilter(stat)] : []),
    tcpProxyFilter(
      stat,
      cluster,
      mixer.report ? reporter('outbound', { 'destination.service': svc.hostname }) : undefined,
    ),
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

/** Ports EgressRules add to the outbound listener: plain HTTP, and plain HTTP the sidecar turns into TLS. */
export interface EgressPorts {
  readonly http: readonly number[];
  readonly https: readonly number[];
}

const noEgress: EgressPorts = { http: [], https: [] };

function portRange(port: number): ListenerFilterChainMatchPredicate {
  return { destination_port_range: { start: port, end: port + 1 } };
}

/**
 * The TLS inspector, run only on the HTTPS ports of EgressRules: there the app's plain HTTP goes
 * to the HTTP connection manager (raw_buffer) and TLS it makes itself passes through. Elsewhere
 * it would stall server-first protocols waiting for a ClientHello.
 */
function tlsOnPorts(ports: readonly number[]): ListenerFilter {
  const only =
    ports.length === 1 ? portRange(ports[0] ?? 0) : { or_match: { rules: ports.map(portRange) } };
  return { ...tlsInspectorFilter(), filter_disabled: { not_match: only } };
}

export function outboundListener(
  state: RegistryState,
  egress: EgressPorts = noEgress,
  mixer: MixerFilters = noMixer,
  tracing?: HcmTracing,
): Resource {
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
      chains.push(tcpChain(svc, p, ips, mixer));
      clusters.push(outboundClusterName(p.port, svc.hostname));
    }
  }
  const tlsOrigination = new Set(egress.https.filter((p) => !httpPorts.has(p)));
  for (const p of [...egress.http, ...tlsOrigination]) httpPorts.add(p);
  for (const port of [...httpPorts].sort((a, b) => a - b)) {
    const route = outboundRouteName(port);
    routes.push(route);
    chains.push({
      name: `0.0.0.0_${port}`,
      filter_chain_match: {
        destination_port: { value: port },
        ...(tlsOrigination.has(port) ? { transport_protocol: 'raw_buffer' } : {}),
      },
      filters: [
        hcmFilter({
          statPrefix: `outbound_0.0.0.0_${port}`,
          routes: { rds: route },
          faults: true,
          accessLog: mixer.report ? reporter('outbound') : undefined,
          tracing,
        }),
      ],
    });
  }
  const l: Listener = {
    name: ListenerName.Outbound,
    address: { socket_address: { address: '0.0.0.0', port_value: Port.OutboundCapture } },
    traffic_direction: 'OUTBOUND',
    listener_filters: [
      originalDstFilter(),
      ...(tlsOrigination.size > 0 ? [tlsOnPorts([...tlsOrigination].sort((a, b) => a - b))] : []),
    ],
    filter_chains: chains,
    default_filter_chain: {
      name: ClusterName.Passthrough,
      filters: [tcpProxyFilter(ClusterName.Passthrough, ClusterName.Passthrough)],
    },
  };
  return makeResource(TypeUrl.Listener, ListenerName.Outbound, l, { clusters, routes });
}

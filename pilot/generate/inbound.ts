/**
 * A sidecar's inbound side: the 15006 listener (iptables sends every inbound connection there) with
 * a filter chain per port the pod serves, and the `inbound|<port>||` clusters behind them.
 *
 * TLS per the mesh's authPolicy: NONE plaintext; MUTUAL_TLS requires mTLS on every service port;
 * PERMISSIVE (0.2's missing piece) takes mTLS from sidecars, told apart by TLS with ALPN `istio`,
 * and plaintext from anyone else, on the same port. Ports no service names pass through.
 */
import { Port } from '../../lib/ports.ts';
import {
  AgentHttpExtAuthzName,
  agentExtAuthzPerRoute,
  agentNetworkExtAuthzFilter,
} from '../../lib/xds/agent-filters.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Filter, FilterChain, Listener } from '../../lib/xds/types.ts';
import { isHttp, type Protocol } from '../model/protocol.ts';
import { inboundCluster } from './clusters.ts';
import type { GenContext } from './context.ts';
import {
  duration,
  hcmFilter,
  mongoProxyFilter,
  originalDstFilter,
  tcpProxyFilter,
  tlsInspectorFilter,
} from './filters.ts';
import { mixerFilters, reporter } from './mixer.ts';
import { ClusterName, ListenerName, inboundClusterName } from './names.ts';
import { makeResource, type Resource } from './resource.ts';
import { MeshAlpn, downstreamTlsSocket } from './tls.ts';
import { hcmTracing } from './tracing.ts';

/** A port the proxy's own workload serves, with the protocol its service declares. */
export interface InboundPort {
  readonly port: number;
  readonly protocol: Protocol;
}

function chainFilters(ctx: GenContext, p: InboundPort): Filter[] {
  const cluster = inboundClusterName(p.port);
  const mixer = mixerFilters(ctx.mesh);
  const tags = mixer.report ? reporter('inbound') : undefined;
  if (isHttp(p.protocol)) {
    return [
      hcmFilter({
        statPrefix: `inbound_0.0.0.0_${p.port}`,
        check: mixer.check,
        accessLog: tags,
        tracing: hcmTracing(ctx.mesh),
        routes: {
          inline: {
            name: cluster,
            virtual_hosts: [
              {
                name: cluster,
                domains: ['*'],
                ...(mixer.check
                  ? {
                      typed_per_filter_config: {
                        [AgentHttpExtAuthzName]: agentExtAuthzPerRoute(reporter('inbound')),
                      },
                    }
                  : {}),
                routes: [
                  {
                    name: 'default',
                    match: { prefix: '/' },
                    route: { cluster, timeout: duration(0) },
                  },
                ],
              },
            ],
          },
        },
      }),
    ];
  }
  return [
    ...(mixer.check ? [agentNetworkExtAuthzFilter(cluster)] : []),
    ...(p.protocol === 'MONGO' ? [mongoProxyFilter(cluster)] : []),
    tcpProxyFilter(cluster, cluster, tags),
  ];
}

function chains(ctx: GenContext, p: InboundPort): FilterChain[] {
  const filters = chainFilters(ctx, p);
  const name = inboundClusterName(p.port);
  const port = { destination_port: { value: p.port } };
  switch (ctx.mesh.authPolicy) {
    case 'NONE':
      return [{ name, filter_chain_match: port, filters }];
    case 'MUTUAL_TLS':
      return [{ name, filter_chain_match: port, filters, transport_socket: downstreamTlsSocket() }];
    case 'PERMISSIVE':
      return [
        {
          name: `${name}-mtls`,
          filter_chain_match: {
            ...port,
            transport_protocol: 'tls',
            application_protocols: [MeshAlpn],
          },
          filters,
          transport_socket: downstreamTlsSocket(),
        },
        { name, filter_chain_match: port, filters },
      ];
  }
}

/** The inbound listener and clusters for the ports the proxy's workload serves. */
export function inboundResources(
  ctx: GenContext,
  ports: readonly InboundPort[],
): { listener: Resource; clusters: Resource[] } {
  const sorted = [...ports].sort((a, b) => a.port - b.port);
  const l: Listener = {
    name: ListenerName.Inbound,
    address: { socket_address: { address: '0.0.0.0', port_value: Port.InboundCapture } },
    traffic_direction: 'INBOUND',
    listener_filters: [
      originalDstFilter(),
      ...(ctx.mesh.authPolicy === 'PERMISSIVE' ? [tlsInspectorFilter()] : []),
    ],
    filter_chains: sorted.flatMap((p) => chains(ctx, p)),
    default_filter_chain: {
      name: ClusterName.InboundPassthrough,
      filters: [tcpProxyFilter(ClusterName.InboundPassthrough, ClusterName.InboundPassthrough)],
    },
  };
  const clusters = sorted.map((p) => inboundCluster(ctx, p.port, p.protocol));
  const listener = makeResource(TypeUrl.Listener, ListenerName.Inbound, l, {
    clusters: [...clusters.map((c) => c.name), ClusterName.InboundPassthrough],
  });
  return { listener, clusters };
}

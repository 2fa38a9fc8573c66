/** Names of generated resources: Istio's, so dashboards and habits carry over. */
export const ClusterName = {
  Passthrough: 'PassthroughCluster',
  InboundPassthrough: 'InboundPassthroughCluster',
} as const;

export const ListenerName = {
  Outbound: 'virtualOutbound',
  Inbound: 'virtualInbound',
} as const;

/** The HTTP filter whose per-route config carries a RouteRule's httpFault. */
export const FaultFilterName = 'envoy.filters.http.fault';

/**
 * `outbound|<port>||<host>`: the cluster for one service port; `outbound|<port>|<subset>|<host>`
 * for one version of it (a label subset a RouteRule routes to, `version=v2`).
 */
export function outboundClusterName(port: number, hostname: string, subset = ''): string {
  return `outbound|${port}|${subset}|${hostname}`;
}

/** `inbound|<port>||`: the local application's port behind the sidecar. */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** The route configuration outbound HTTP traffic to `port` uses. */
export function outboundRouteName(port: number): string {
  return String(port);
}

/** The name proxyless gRPC clients ask for: their `xds:///` target, `<host>:<port>`. */
export function grpcListenerName(hostname: string, port: number): string {
  return `${hostname}:${port}`;
}

/**
 * Type URLs of the xDS resources and the typed_config extensions istio-lite generates or serves.
 * One place for these strings, shared by Pilot (generators, ADS) and the agent (bootstrap, SDS).
 */
const prefix = 'type.googleapis.com/';

export const TypeUrl = {
  Cluster: `${prefix}envoy.config.cluster.v3.Cluster`,
  ClusterLoadAssignment: `${prefix}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  Listener: `${prefix}envoy.config.listener.v3.Listener`,
  RouteConfiguration: `${prefix}envoy.config.route.v3.RouteConfiguration`,
  Secret: `${prefix}envoy.extensions.transport_sockets.tls.v3.Secret`,
  HttpConnectionManager: `${prefix}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  TcpProxy: `${prefix}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
  MongoProxy: `${prefix}envoy.extensions.filters.network.mongo_proxy.v3.MongoProxy`,
  Router: `${prefix}envoy.extensions.filters.http.router.v3.Router`,
  HttpFault: `${prefix}envoy.extensions.filters.http.fault.v3.HTTPFault`,
  OriginalDst: `${prefix}envoy.extensions.filters.listener.original_dst.v3.OriginalDst`,
  TlsInspector: `${prefix}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`,
  UpstreamTlsContext: `${prefix}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  DownstreamTlsContext: `${prefix}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
  RawBuffer: `${prefix}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer`,
  HttpProtocolOptions: `${prefix}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
} as const;

export type TypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/** The four resource types of ADS, in the order a make-before-break push sends them. */
export const XdsTypeOrder = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
] as const;

export type XdsType = (typeof XdsTypeOrder)[number];

export function isXdsType(s: string): s is XdsType {
  return (XdsTypeOrder as readonly string[]).includes(s);
}

/** Short names for logs, metrics labels and debug pages. */
export const XdsTypeShort: Readonly<Record<XdsType, string>> = {
  [TypeUrl.Cluster]: 'CDS',
  [TypeUrl.ClusterLoadAssignment]: 'EDS',
  [TypeUrl.Listener]: 'LDS',
  [TypeUrl.RouteConfiguration]: 'RDS',
};

/** The fully qualified message name of a type URL (`envoy.config.cluster.v3.Cluster`). */
export function messageName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/**
 * TypeScript shapes of the Envoy messages istio-lite builds, with proto field names. Most come from
 * the types `@grpc/grpc-js-xds` generates from the same protos (type-only imports, erased at run
 * time); the few extensions it has no types for are declared here with just the fields we use.
 * `encodeMessage` checks every object against the real schema whatever its static type says.
 */
export type { Cluster } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/cluster/v3/Cluster.js';
export type { ClusterLoadAssignment } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
export type { LocalityLbEndpoints } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/endpoint/v3/LocalityLbEndpoints.js';
export type { LbEndpoint } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/endpoint/v3/LbEndpoint.js';
export type { Listener } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/listener/v3/Listener.js';
export type { FilterChain } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/listener/v3/FilterChain.js';
export type { FilterChainMatch } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/listener/v3/FilterChainMatch.js';
export type { Filter } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/listener/v3/Filter.js';
export type { ListenerFilter } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/listener/v3/ListenerFilter.js';
export type { ListenerFilterChainMatchPredicate } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/listener/v3/ListenerFilterChainMatchPredicate.js';
export type { RouteConfiguration } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/route/v3/RouteConfiguration.js';
export type { VirtualHost } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/route/v3/VirtualHost.js';
export type { Route } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/route/v3/Route.js';
export type { HttpConnectionManager } from '@grpc/grpc-js-xds/build/src/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
export type { UpstreamTlsContext } from '@grpc/grpc-js-xds/build/src/generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext.js';
export type { DownstreamTlsContext } from '@grpc/grpc-js-xds/build/src/generated/envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext.js';
export type { CommonTlsContext } from '@grpc/grpc-js-xds/build/src/generated/envoy/extensions/transport_sockets/tls/v3/CommonTlsContext.js';
export type { SdsSecretConfig } from '@grpc/grpc-js-xds/build/src/generated/envoy/extensions/transport_sockets/tls/v3/SdsSecretConfig.js';
export type { ConfigSource } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/core/v3/ConfigSource.js';
export type { Address } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/core/v3/Address.js';
export type { TransportSocket } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/core/v3/TransportSocket.js';
export type { Metadata } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/core/v3/Metadata.js';
export type { Node } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/core/v3/Node.js';
export type { HTTPFault } from '@grpc/grpc-js-xds/build/src/generated/envoy/extensions/filters/http/fault/v3/HTTPFault.js';
export type { HeaderMatcher } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/route/v3/HeaderMatcher.js';
export type { RouteAction } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/route/v3/RouteAction.js';
export type { RouteMatch } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/route/v3/RouteMatch.js';
export type { Http2ProtocolOptions } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/core/v3/Http2ProtocolOptions.js';

/** envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy (fields used). */
export interface TcpProxy {
  readonly stat_prefix: string;
  readonly cluster: string;
}

/** envoy.extensions.filters.network.mongo_proxy.v3.MongoProxy (fields used). */
export interface MongoProxy {
  readonly stat_prefix: string;
}

/** envoy.extensions.upstreams.http.v3.HttpProtocolOptions (fields used). */
export interface HttpProtocolOptions {
  readonly common_http_protocol_options?: {
    readonly max_requests_per_connection?: { readonly value: number };
  };
  readonly upstream_http_protocol_options?: {
    readonly auto_sni?: boolean;
    readonly auto_san_validation?: boolean;
  };
  readonly explicit_http_config: {
    readonly http_protocol_options?: Record<string, never>;
    readonly http2_protocol_options?: Record<string, never>;
  };
}

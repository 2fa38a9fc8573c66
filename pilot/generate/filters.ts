/** The network and listener filters generated listeners are built from. */
import {
  agentHttpAccessLog,
  agentHttpExtAuthzFilter,
  agentTcpAccessLog,
  type Carrier,
  type NamedTypedConfig,
} from '../../lib/xds/agent-filters.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { toAny } from '../../lib/xds/protos.ts';
import type {
  Filter,
  HttpConnectionManager,
  ListenerFilter,
  MongoProxy,
  RouteConfiguration,
  TcpProxy,
} from '../../lib/xds/types.ts';
import { FaultFilterName } from './names.ts';
import { tracingField, type HcmTracing } from './tracing.ts';

type HttpFilter = NonNullable<HttpConnectionManager['http_filters']>[number];

export function routerFilter(): HttpFilter {
  return { name: 'envoy.filters.http.router', typed_config: toAny(TypeUrl.Router, {}) };
}

/** The fault filter with no fault of its own: routes turn it on with per-route config. */
export function faultFilter(): HttpFilter {
  return { name: FaultFilterName, typed_config: toAny(TypeUrl.HttpFault, {}) };
}

interface HcmOptions {
  readonly statPrefix: string;
  /** RDS by name, or an inline route configuration. */
  readonly routes: { readonly rds: string } | { readonly inline: RouteConfiguration };
  /** Whether routes may inject faults (outbound and proxyless: RouteRule httpFault). */
  readonly faults?: boolean;
  /** ext_authz to the agent before the router (its context extensions are per virtual host). */
  readonly check?: boolean;
  /** A gRPC access log to the agent with these custom tags. */
  readonly accessLog?: Carrier | undefined;
  /** Spans for sampled requests (tracing.ts); none when undefined. */
  readonly tracing?: HcmTracing | undefined;
}

/** An HTTP connection manager: HTTP/1.1 and HTTP/2 (so gRPC) downstream, WebSocket upgrades. */
export function httpConnectionManager(o: HcmOptions): HttpConnectionManager {
  const routes: Pick<HttpConnectionManager, 'rds' | 'route_config'> =
    'rds' in o.routes
      ? {
          rds: {
            config_source: { ads: {}, resource_api_version: 'V3' },
            route_config_name: o.routes.rds,
          },
        }
      : { route_config: o.routes.inline };
  return {
    stat_prefix: o.statPrefix,
    codec_type: 'AUTO',
    ...routes,
    http_filters: [
      ...(o.faults === true ? [faultFilter()] : []),
      ...(o.check === true ? [agentHttpExtAuthzFilter()] : []),
      routerFilter(),
    ],
    ...(o.accessLog === undefined ? {} : { access_log: [agentHttpAccessLog(o.accessLog)] }),
    ...(o.tracing === undefined ? {} : { tracing: tracingField(o.tracing) }),
    upgrade_configs: [{ upgrade_type: 'websocket' }],
    normalize_path: { value: true },
  };
}

export function hcmFilter(o: HcmOptions): Filter {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: toAny(TypeUrl.HttpConnectionManager, httpConnectionManager(o)),
  };
}

/** A TCP proxy; with `accessLog`, a gRPC access log to the agent with those custom tags. */
export function tcpProxyFilter(statPrefix: string, cluster: string, accessLog?: Carrier): Filter {
  const cfg: TcpProxy & { access_log?: NamedTypedConfig[] } = {
    stat_prefix: statPrefix,
    cluster,
    ...(accessLog === undefined ? {} : { access_log: [agentTcpAccessLog(accessLog)] }),
  };
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: toAny(TypeUrl.TcpProxy, cfg) };
}

export function mongoProxyFilter(statPrefix: string): Filter {
  const cfg: MongoProxy = { stat_prefix: statPrefix };
  return {
    name: 'envoy.filters.network.mongo_proxy',
    typed_config: toAny(TypeUrl.MongoProxy, cfg),
  };
}

export function originalDstFilter(): ListenerFilter {
  return {
    name: 'envoy.filters.listener.original_dst',
    typed_config: toAny(TypeUrl.OriginalDst, {}),
  };
}

export function tlsInspectorFilter(): ListenerFilter {
  return {
    name: 'envoy.filters.listener.tls_inspector',
    typed_config: toAny(TypeUrl.TlsInspector, {}),
  };
}

/** Milliseconds as a google.protobuf.Duration. */
export function duration(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

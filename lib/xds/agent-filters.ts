/**
 * The pieces of listener config that send Envoy's checks and access logs to the local agent
 * (which answers checks from its Mixer cache and batches logs into Mixer Reports), for Pilot's
 * listener generators: the HTTP and network ext_authz filters and the HTTP and TCP gRPC access
 * logs, all on the agent's bootstrap cluster (lib/xds/agent-clusters.ts). Attributes Envoy cannot
 * see (workload labels, destination.service) travel as ext_authz `context_extensions` and access
 * log `custom_tags` (lib/mixer/envoy-attributes.ts).
 */
import { AgentAccessLogName, AgentCluster } from './agent-clusters.ts';
import { toAny, type EncodedAny } from './protos.ts';

export const AgentFilterType = {
  HttpExtAuthz: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  HttpExtAuthzPerRoute:
    'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
  NetworkExtAuthz: 'type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz',
  HttpGrpcAccessLog:
    'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
  TcpGrpcAccessLog:
    'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig',
} as const;

const agentGrpc = {
  envoy_grpc: { cluster_name: AgentCluster.Mixer },
  timeout: { seconds: 2 },
};

/** The HTTP ext_authz filter's name: the key of its per-route config. */
export const AgentHttpExtAuthzName = 'envoy.filters.http.ext_authz';

export interface NamedTypedConfig {
  readonly name: string;
  readonly typed_config: EncodedAny;
}

/**
 * The HTTP ext_authz filter (goes before the router). Envoy fails closed if the agent itself does
 * not answer; the agent applies the mesh's fail-open policy when Mixer is unreachable.
 */
export function agentHttpExtAuthzFilter(): NamedTypedConfig {
  return {
    name: AgentHttpExtAuthzName,
    typed_config: toAny(AgentFilterType.HttpExtAuthz, {
      grpc_service: agentGrpc,
      transport_api_version: 'V3',
      failure_mode_allow: false,
      include_peer_certificate: true,
      status_on_error: { code: 'ServiceUnavailable' },
    }),
  };
}

/** The network ext_authz filter for TCP listeners (goes before tcp_proxy). */
export function agentNetworkExtAuthzFilter(statPrefix: string): NamedTypedConfig {
  return {
    name: 'envoy.filters.network.ext_authz',
    typed_config: toAny(AgentFilterType.NetworkExtAuthz, {
      stat_prefix: statPrefix,
      grpc_service: agentGrpc,
      transport_api_version: 'V3',
      failure_mode_allow: false,
      include_peer_certificate: true,
    }),
  };
}

/** Carrier entries (lib/mixer/envoy-attributes.ts): attribute name, or `<map attribute>.<key>`. */
export type Carrier = Readonly<Record<string, string>>;

function common(tags: Carrier): object {
  const entries = Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    log_name: AgentAccessLogName,
    grpc_service: agentGrpc,
    transport_api_version: 'V3',
    buffer_flush_interval: { seconds: 1 },
    ...(entries.length > 0
      ? { custom_tags: entries.map(([tag, value]) => ({ tag, literal: { value } })) }
      : {}),
  };
}

/**
 * The HTTP ext_authz filter's per-route (or per-virtual-host) config carrying `context_extensions`,
 * keyed `envoy.filters.http.ext_authz` in `typed_per_filter_config`.
 */
export function agentExtAuthzPerRoute(contextExtensions: Carrier): EncodedAny {
  return toAny(AgentFilterType.HttpExtAuthzPerRoute, {
    check_settings: { context_extensions: contextExtensions },
  });
}

/** An HTTP connection manager's access log to the agent (Mixer Reports); `tags` as custom_tags. */
export function agentHttpAccessLog(tags: Carrier = {}): NamedTypedConfig {
  return {
    name: 'envoy.access_loggers.http_grpc',
    typed_config: toAny(AgentFilterType.HttpGrpcAccessLog, { common_config: common(tags) }),
  };
}

/** A tcp_proxy's access log to the agent (Mixer Reports of connections); `tags` as custom_tags. */
export function agentTcpAccessLog(tags: Carrier = {}): NamedTypedConfig {
  return {
    name: 'envoy.access_loggers.tcp_grpc',
    typed_config: toAny(AgentFilterType.TcpGrpcAccessLog, { common_config: common(tags) }),
  };
}

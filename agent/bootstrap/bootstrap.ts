/**
 * Envoy's bootstrap (v3, proto3 JSON, the form `envoy -c` reads): the node, admin on loopback,
 * ADS to the agent's own xDS proxy (which forwards to Pilot and sees every ACK), SDS from the
 * agent, the Prometheus listener on 15090 routing `/stats/prometheus` to admin, the agent's
 * ext_authz/ALS cluster, and Zipkin tracing and a statsd sink when configured. Every local
 * service is a Unix socket under the config path (the pod's `istio-envoy` emptyDir), so nothing
 * listens on a pod port that traffic capture or the application could collide with.
 *
 * Built as plain data; the tests encode it against Envoy's protos with no unknown field.
 */
import { AgentCluster } from '../../lib/xds/agent-clusters.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { NodeIdentity } from './node.ts';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface BootstrapInput {
  readonly node: NodeIdentity;
  readonly adminPort: number;
  readonly statsPort: number;
  readonly sockets: { readonly xds: string; readonly sds: string; readonly mixer: string };
  readonly connectTimeoutMs: number;
  /** Zipkin collector host and port, when tracing is on. */
  readonly zipkin?: { readonly host: string; readonly port: number };
  /** statsd over UDP; Envoy needs an IP here (the agent resolves the name first). */
  readonly statsd?: { readonly ip: string; readonly port: number };
}

const ZipkinConfig = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';
const StatsdSink = 'type.googleapis.com/envoy.config.metrics.v3.StatsdSink';

function seconds(ms: number): string {
  return `${String(ms / 1000)}s`;
}

function socketAddress(address: string, port: number): JsonObject {
  return { socket_address: { address, port_value: port } };
}

function loadAssignment(cluster: string, address: JsonObject): JsonObject {
  return {
    cluster_name: cluster,
    endpoints: [{ lb_endpoints: [{ endpoint: { address } }] }],
  };
}

const http2Options: JsonObject = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': TypeUrl.HttpProtocolOptions,
    explicit_http_config: { http2_protocol_options: {} },
  },
};

/** A gRPC cluster to the agent over a Unix socket. */
function agentGrpcCluster(name: string, path: string, connectTimeoutMs: number): JsonObject {
  return {
    name,
    type: 'STATIC',
    connect_timeout: seconds(connectTimeoutMs),
    load_assignment: loadAssignment(name, { pipe: { path } }),
    typed_extension_protocol_options: http2Options,
  };
}

function statsListener(port: number): JsonObject {
  const hcm = {
    '@type': TypeUrl.HttpConnectionManager,
    stat_prefix: 'stats',
    codec_type: 'AUTO',
    route_config: {
      virtual_hosts: [
        {
          name: 'backend',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/stats/prometheus' },
              route: { cluster: AgentCluster.PrometheusStats },
            },
          ],
        },
      ],
    },
    http_filters: [
      { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } },
    ],
  };
  return {
    name: 'stats',
    address: socketAddress('0.0.0.0', port),
    filter_chains: [
      {
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
      },
    ],
  };
}

function clusters(i: BootstrapInput): JsonObject[] {
  const out: JsonObject[] = [
    agentGrpcCluster(AgentCluster.Xds, i.sockets.xds, i.connectTimeoutMs),
    agentGrpcCluster(AgentCluster.Sds, i.sockets.sds, i.connectTimeoutMs),
    agentGrpcCluster(AgentCluster.Mixer, i.sockets.mixer, i.connectTimeoutMs),
    {
      name: AgentCluster.PrometheusStats,
      type: 'STATIC',
      connect_timeout: '0.25s',
      load_assignment: loadAssignment(
        AgentCluster.PrometheusStats,
        socketAddress('127.0.0.1', i.adminPort),
      ),
    },
  ];
  if (i.zipkin) {
    out.push({
      name: AgentCluster.Zipkin,
      type: 'STRICT_DNS',
      dns_lookup_family: 'V4_ONLY',
      connect_timeout: '1s',
      load_assignment: loadAssignment(
        AgentCluster.Zipkin,
        socketAddress(i.zipkin.host, i.zipkin.port),
      ),
    });
  }
  return out;
}

export function buildBootstrap(i: BootstrapInput): JsonObject {
  const ads = { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: '0s' };
  const bootstrap: JsonObject = {
    node: { id: i.node.id, cluster: i.node.cluster, metadata: { ...i.node.metadata } },
    admin: { address: socketAddress('127.0.0.1', i.adminPort) },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: AgentCluster.Xds } }],
      },
      cds_config: ads,
      lds_config: ads,
    },
    static_resources: {
      clusters: clusters(i),
      listeners: [statsListener(i.statsPort)],
    },
  };
  if (i.zipkin) {
    bootstrap['tracing'] = {
      http: {
        name: 'envoy.tracers.zipkin',
        typed_config: {
          '@type': ZipkinConfig,
          collector_cluster: AgentCluster.Zipkin,
          collector_endpoint: '/api/v2/spans',
          collector_endpoint_version: 'HTTP_JSON',
          trace_id_128bit: true,
          shared_span_context: false,
        },
      },
    };
  }
  if (i.statsd) {
    bootstrap['stats_sinks'] = [
      {
        name: 'envoy.stat_sinks.statsd',
        typed_config: {
          '@type': StatsdSink,
          address: {
            socket_address: { address: i.statsd.ip, port_value: i.statsd.port, protocol: 'UDP' },
          },
        },
      },
    ];
  }
  return bootstrap;
}

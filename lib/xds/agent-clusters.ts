/**
 * The names of the static clusters the agent puts in Envoy's bootstrap, and the secret names it
 * serves over SDS. Pilot refers to them from generated config (an ext_authz filter or an ALS
 * access log pointing at the local agent, a TLS context asking SDS for `default` and `ROOTCA`),
 * so they live in lib/ and nowhere else.
 */
export const AgentCluster = {
  /** ADS: Envoy → the agent's xDS proxy (Unix socket) → Pilot. */
  Xds: 'xds-grpc',
  /** SDS: Envoy → the agent (Unix socket). */
  Sds: 'sds-grpc',
  /** ext_authz (Mixer Check) and ALS (Mixer Report) served by the agent (Unix socket). */
  Mixer: 'istio-agent-mixer',
  /** Envoy's own admin, so the 15090 listener can expose `/stats/prometheus`. */
  PrometheusStats: 'prometheus_stats',
  /** The Zipkin collector, when tracing is on. */
  Zipkin: 'zipkin',
} as const;

export const SdsSecret = {
  /** The workload's certificate chain and key. */
  Default: 'default',
  /** The mesh root(s) peers are verified against. */
  RootCa: 'ROOTCA',
} as const;

/** The ALS log name the agent expects from Envoy (it turns these entries into Mixer Reports). */
export const AgentAccessLogName = 'istio-lite-mixer-report';

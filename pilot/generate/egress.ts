/**
 * EgressRules: external hosts the mesh may call, per port.
 * - Clusters `outbound|<port>||<host>`: an exact host is resolved by DNS (STRICT_DNS); a wildcard
 *   (`*.foo.com`) goes to the address the app dialled (ORIGINAL_DST). HTTPS means the app speaks
 *   plain HTTP (`http://host:443`) and the cluster originates TLS: SNI and certificate checked
 *   against the host (for a wildcard, the request's Host, Envoy's auto SNI), trusting the
 *   proxy's system CAs. GRPC and HTTP2 speak HTTP/2 upstream.
 * - Sidecars get a virtual host per rule host on the port's outbound route configuration, to
 *   that cluster, or with `useEgressProxy` to the egress gateway, marked with the port.
 * - The egress gateway gets the clusters of the proxied rules and one route configuration that
 *   picks the cluster by host and port marker. With Mixer, it checks and reports every request as
 *   its client (`context.reporter.kind` `outbound`, see mixer.ts), each virtual host carrying its
 *   external host as `destination.service`.
 */
import { AgentHttpExtAuthzName, agentExtAuthzPerRoute } from '../../lib/xds/agent-filters.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { toAny } from '../../lib/xds/protos.ts';
import type {
  Cluster,
  HttpProtocolOptions,
  Listener,
  RouteConfiguration,
  UpstreamTlsContext,
  VirtualHost,
} from '../../lib/xds/types.ts';
import type { DestinationPolicy, EgressPort, EgressRule } from '../config/model.ts';
import type { GenContext } from './context.ts';
import { duration, hcmFilter } from './filters.ts';
import type { HcmTracing } from './tracing.ts';
import { noMixer, reporter, type MixerFilters } from './mixer.ts';
import { outboundClusterName } from './names.ts';
import { withPolicy } from './policy.ts';
import { makeResource, type Resource } from './resource.ts';
import type { EgressHost } from './routes.ts';

/** Tells the egress gateway which port of the external host a proxied request is for. */
export const EgressPortHeader = 'x-istio-lite-egress-port';

/** The system CA bundle of the proxy image (Debian's). */
export const SystemCaBundle = '/etc/ssl/certs/ca-certificates.crt';

/** The route configuration (and listener) of the egress gateway. */
export const EgressGatewayRoute = 'egress-gateway';

function isHttp2(p: EgressPort): boolean {
  return p.protocol === 'GRPC' || p.protocol === 'HTTP2';
}

function protocolOptions(
  rule: EgressRule,
  p: EgressPort,
): Pick<Cluster, 'typed_extension_protocol_options'> {
  const autoSni = rule.wildcard && p.protocol === 'HTTPS';
  if (!autoSni && !isHttp2(p)) return {};
  const opts: HttpProtocolOptions = {
    ...(autoSni
      ? { upstream_http_protocol_options: { auto_sni: true, auto_san_validation: true } }
      : {}),
    explicit_http_config: isHttp2(p)
      ? { http2_protocol_options: {} }
      : { http_protocol_options: {} },
  };
  return {
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': toAny(
        TypeUrl.HttpProtocolOptions,
        opts,
      ),
    },
  };
}

function originateTls(rule: EgressRule): Pick<Cluster, 'transport_socket'> {
  const tls: UpstreamTlsContext = {
    common_tls_context: {
      validation_context: {
        trusted_ca: { filename: SystemCaBundle },
        ...(rule.wildcard
          ? {}
          : {
              match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: rule.host } }],
            }),
      },
    },
    ...(rule.wildcard ? {} : { sni: rule.host }),
  };
  return {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: toAny(TypeUrl.UpstreamTlsContext, tls),
    },
  };
}

/** The cluster for one port of an external host (a DestinationPolicy applies to exact hosts). */
export function egressCluster(
  ctx: GenContext,
  rule: EgressRule,
  p: EgressPort,
  policy: DestinationPolicy | undefined,
): Resource {
  const name = outboundClusterName(p.port, rule.host);
  const base: Cluster = {
    name,
    connect_timeout: duration(ctx.connectTimeoutMs),
    ...protocolOptions(rule, p),
    ...(p.protocol === 'HTTPS' ? originateTls(rule) : {}),
  };
  if (rule.wildcard) {
    const c: Cluster = { ...base, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' };
    return makeResource(TypeUrl.Cluster, name, c);
  }
  const c: Cluster = {
    ...base,
    type: 'STRICT_DNS',
    dns_lookup_family: 'V4_ONLY',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: rule.host, port_value: p.port } } },
            },
          ],
        },
      ],
    },
  };
  return makeResource(TypeUrl.Cluster, name, withPolicy(c, policy, false));
}

/** Domains of an external host on a port: bare and with the port. */
export function egressDomains(host: string, port: number): string[] {
  return [host, `${host}:${port}`];
}

/**
 * The virtual hosts sidecars get for EgressRules, by port: direct to the host's cluster, or
 * through the egress gateway's cluster with the port marker.
 */
export function sidecarEgressHosts(
  rules: readonly EgressRule[],
  gatewayCluster: string | undefined,
): Map<number, EgressHost[]> {
  const out = new Map<number, EgressHost[]>();
  for (const r of rules) {
    for (const p of r.ports) {
      const proxied = r.useEgressProxy && gatewayCluster !== undefined;
      const e: EgressHost = {
        host: r.host,
        domains: egressDomains(r.host, p.port),
        cluster: proxied ? gatewayCluster : outboundClusterName(p.port, r.host),
        headers: proxied ? { [EgressPortHeader]: String(p.port) } : {},
      };
      const list = out.get(p.port);
      if (list) list.push(e);
      else out.set(p.port, [e]);
    }
  }
  return out;
}

/** The egress gateway's route configuration: by host, then by the port marker. */
export function egressGatewayRoutes(
  rules: readonly EgressRule[],
  mixer: MixerFilters = noMixer,
): Resource {
  // One virtual host per host (rules for one host on different ports merge).
  const byHost = new Map<string, EgressPort[]>();
  for (const r of rules) byHost.set(r.host, [...(byHost.get(r.host) ?? []), ...r.ports]);
  const hosts: VirtualHost[] = [...byHost].map(([host, ports]) => ({
    name: host,
    domains: [host, ...ports.map((p) => `${host}:${p.port}`)],
    routes: ports.map((p) => ({
      name: `${host}:${p.port}`,
      match: {
        prefix: '/',
        headers: [{ name: EgressPortHeader, string_match: { exact: String(p.port) } }],
      },
      route: { cluster: outboundClusterName(p.port, host), timeout: duration(0) },
    })),
    request_headers_to_remove: [EgressPortHeader],
    ...(mixer.check
      ? {
          typed_per_filter_config: {
            [AgentHttpExtAuthzName]: agentExtAuthzPerRoute(
              reporter('outbound', { 'destination.service': host }),
            ),
          },
        }
      : {}),
  }));
  const rc: RouteConfiguration = {
    name: EgressGatewayRoute,
    virtual_hosts: hosts,
    validate_clusters: { value: false },
  };
  const clusters = rules.flatMap((r) => r.ports.map((p) => outboundClusterName(p.port, r.host)));
  return makeResource(TypeUrl.RouteConfiguration, EgressGatewayRoute, rc, { clusters });
}

/** The egress gateway's listener on the port its service sends HTTP to. */
export function egressGatewayListener(
  port: number,
  tracing?: HcmTracing,
  mixer: MixerFilters = noMixer,
): Resource {
  const name = `${EgressGatewayRoute}_${port}`;
  const l: Listener = {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    traffic_direction: 'OUTBOUND',
    filter_chains: [
      {
        name,
        filters: [
          hcmFilter({
            statPrefix: name,
            routes: { rds: EgressGatewayRoute },
            check: mixer.check,
            accessLog: mixer.report ? reporter('outbound') : undefined,
            tracing,
          }),
        ],
      },
    ],
  };
  return makeResource(TypeUrl.Listener, name, l, { routes: [EgressGatewayRoute] });
}

/**
 * A stand-in for Envoy's HTTP data path at a gateway (Envoy is not installed here; e2e/kind runs
 * the real one), driven only by the config Pilot sent it through the agent (an EnvoyLikeClient
 * holds it): for a request on a port it finds the listener and its HTTP connection manager, the
 * virtual host and route (RDS), and does what Envoy's filters would do with that config:
 *
 * - the ext_authz filter, when the connection manager has one: a CheckRequest to the agent's
 *   MIXER socket with the downstream peer, the listener's address and the route's (else the
 *   virtual host's) `context_extensions`; a denial is answered without any upstream call;
 * - the router: the request to the first endpoint of the route's cluster (EDS), through `network`
 *   (the pod network's stand-in: a pod IP and port to where that pod's server really listens);
 * - the gRPC access log, when configured: one entry with its `custom_tags`, the upstream cluster
 *   and, when a request went out, the upstream address.
 *
 * Route matching covers what Ingresses and the egress gateway produce: exact and `*` domains,
 * `prefix`, `path`, `path_separated_prefix`, and exact header matches.
 */
import { messageToJson } from '../../lib/xds/json-view.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { EnvoyLikeClient } from '../../agent/testing/envoy-like-client.ts';
import type { EnvoyMixerClient } from '../../agent/testing/envoy-mixer-client.ts';

type Json = Record<string, unknown>;

const ExtAuthz = 'envoy.filters.http.ext_authz';

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

function arr(v: unknown): Json[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export interface GatewayRequest {
  readonly port: number;
  readonly host: string;
  readonly path: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The downstream peer (a client outside the mesh, or a sidecar). */
  readonly clientIp: string;
}

export interface GatewayResponse {
  readonly status: number;
  readonly body: string;
  /** Whether the request left the gateway. */
  readonly forwarded: boolean;
}

export class GatewayEnvoy {
  private readonly xds: EnvoyLikeClient;
  private readonly mixer: EnvoyMixerClient;
  private readonly ip: string;
  private readonly network: (ip: string, port: number) => string;

  /**
   * `ip`: the gateway pod's address (the listener's local address); `network`: where an endpoint
   * (pod IP and port) is reached from here, as `host:port`.
   */
  constructor(
    xds: EnvoyLikeClient,
    mixer: EnvoyMixerClient,
    ip: string,
    network: (ip: string, port: number) => string,
  ) {
    this.xds = xds;
    this.mixer = mixer;
    this.ip = ip;
    this.network = network;
  }

  private resource(typeUrl: string, name: string): Json | undefined {
    const r = this.xds.resources.get(typeUrl)?.get(name);
    return r ? messageToJson(typeUrl, r.value) : undefined;
  }

  /** The HTTP connection manager of the listener on `port` (first filter chain). */
  hcm(port: number): Json {
    for (const [name] of this.xds.resources.get(TypeUrl.Listener) ?? []) {
      const l = this.resource(TypeUrl.Listener, name);
      const sa = obj(obj(obj(l)['address'])['socket_address']);
      if (sa['port_value'] !== port) continue;
      const filter = arr(arr(obj(l)['filter_chains'])[0]?.['filters'])[0];
      return obj(filter?.['typed_config']);
    }
    throw new Error(`no listener on port ${String(port)}`);
  }

  private route(hcm: Json, r: GatewayRequest): { vh: Json; route: Json } | undefined {
    const name = str(obj(hcm['rds'])['route_config_name']) ?? '';
    const rc = this.resource(TypeUrl.RouteConfiguration, name);
    const host = r.host.replace(/:\d+$/, '');
    const hosts = arr(obj(rc)['virtual_hosts']);
    const vh =
      hosts.find((h) => (h['domains'] as string[]).some((d) => d === host || d === r.host)) ??
      hosts.find((h) => (h['domains'] as string[]).includes('*'));
    if (!vh) return undefined;
    const headers = { ...r.headers };
    const route = arr(vh['routes']).find((x) => {
      const m = obj(x['match']);
      const prefix = str(m['prefix']);
      const exact = str(m['path']);
      const segments = str(m['path_separated_prefix']);
      const pathOk =
        (prefix !== undefined && r.path.startsWith(prefix)) ||
        (exact !== undefined && r.path === exact) ||
        (segments !== undefined && (r.path === segments || r.path.startsWith(`${segments}/`)));
      return (
        pathOk &&
        arr(m['headers']).every(
          (h) => headers[str(h['name']) ?? ''] === str(obj(h['string_match'])['exact']),
        )
      );
    });
    return route ? { vh, route } : undefined;
  }

  private endpoint(cluster: string): { ip: string; port: number } | undefined {
    const cla = this.resource(TypeUrl.ClusterLoadAssignment, cluster);
    const lb = arr(arr(obj(cla)['endpoints'])[0]?.['lb_endpoints'])[0];
    const sa = obj(obj(obj(obj(lb)['endpoint'])['address'])['socket_address']);
    const ip = str(sa['address']);
    const port = sa['port_value'];
    return ip !== undefined && typeof port === 'number' ? { ip, port } : undefined;
  }

  async request(r: GatewayRequest): Promise<GatewayResponse> {
    const hcm = this.hcm(r.port);
    const found = this.route(hcm, r);
    if (!found) return { status: 404, body: 'no route', forwarded: false };
    const cluster = str(obj(found.route['route'])['cluster']) ?? '';
    let response: GatewayResponse | undefined;
    const filters = arr(hcm['http_filters']).map((f) => f['name']);
    if (filters.includes(ExtAuthz)) {
      const perRoute = (x: Json) =>
        obj(
          obj(obj(obj(x['typed_per_filter_config'])[ExtAuthz])['check_settings'])[
            'context_extensions'
          ],
        );
      const context = { ...perRoute(found.vh), ...perRoute(found.route) } as Record<string, string>;
      const answer = await this.mixer.check({
        sourceIp: r.clientIp,
        destinationIp: this.ip,
        path: r.path,
        host: r.host,
        method: r.method ?? 'GET',
        ...(r.headers ? { headers: r.headers } : {}),
        context,
      });
      if (answer.code !== 0) {
        const status = answer.httpStatus === 'Forbidden' ? 403 : 503;
        response = { status, body: answer.message, forwarded: false };
      }
    }
    const upstream = this.endpoint(cluster);
    if (!response) {
      if (!upstream) throw new Error(`no endpoint for ${cluster}`);
      const res = await fetch(`http://${this.network(upstream.ip, upstream.port)}${r.path}`, {
        method: r.method ?? 'GET',
        headers: { host: r.host },
      });
      response = { status: res.status, body: await res.text(), forwarded: true };
    }
    await this.log(hcm, r, cluster, response, upstream);
    return response;
  }

  private async log(
    hcm: Json,
    r: GatewayRequest,
    cluster: string,
    res: GatewayResponse,
    upstream: { ip: string; port: number } | undefined,
  ): Promise<void> {
    const als = arr(hcm['access_log']).find((a) => a['name'] === 'envoy.access_loggers.http_grpc');
    if (!als) return;
    const tags = arr(obj(obj(als['typed_config'])['common_config'])['custom_tags']);
    const sock = (address: string, port: number) => ({
      socket_address: { address, port_value: port },
    });
    await this.mixer.accessLogs([
      {
        identifier: { node: { id: `router~${this.ip}~gateway` }, log_name: 'stand-in' },
        http_logs: {
          log_entry: [
            {
              common_properties: {
                downstream_remote_address: sock(r.clientIp, 40000),
                downstream_local_address: sock(this.ip, r.port),
                ...(res.forwarded && upstream
                  ? { upstream_remote_address: sock(upstream.ip, upstream.port) }
                  : {}),
                upstream_cluster: cluster,
                start_time: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
                time_to_last_downstream_tx_byte: { seconds: 0, nanos: 2_000_000 },
                custom_tags: Object.fromEntries(
                  tags.map((t) => [str(t['tag']) ?? '', str(obj(t['literal'])['value']) ?? '']),
                ),
              },
              request: {
                request_method: r.method ?? 'GET',
                authority: r.host,
                path: r.path,
              },
              response: { response_code: { value: res.status } },
            },
          ],
        },
      },
    ]);
  }
}

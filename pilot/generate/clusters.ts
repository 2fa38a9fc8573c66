/**
 * Clusters (CDS): one per service port (`outbound|<port>||<host>`), the passthrough clusters for
 * traffic to unknown destinations, and a sidecar's inbound clusters for its own ports.
 *
 * mTLS to a peer is chosen per endpoint (transport socket matches on the endpoint's `tlsMode`
 * metadata), so a sidecar reaches both meshed pods (mTLS) and plain pods (plaintext): 0.2's
 * "an mTLS service cannot reach a plain one" does not happen.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { toAny } from '../../lib/xds/protos.ts';
import type { Cluster, HttpProtocolOptions } from '../../lib/xds/types.ts';
import { isHttp2, type Protocol } from '../model/protocol.ts';
import {
  isKubernetesService,
  type Endpoint,
  type Service,
  type ServicePort,
} from '../model/service.ts';
import { hasLabels, type DestinationPolicy } from '../config/model.ts';
import {
  emptyHostTraffic,
  noSourceView,
  policyFor,
  type HostTraffic,
  type SourceView,
  type Subset,
} from '../traffic/traffic.ts';
import { meshTls, type GenContext } from './context.ts';
import { duration } from './filters.ts';
import { ClusterName, inboundClusterName, outboundClusterName } from './names.ts';
import { withPolicy } from './policy.ts';
import { makeResource, type Resource } from './resource.ts';
import { rawBufferSocket, spiffeId, upstreamTlsSocket } from './tls.ts';

/** Metadata key Envoy matches transport sockets against (EDS endpoint metadata). */
export const TransportSocketMatchKey = 'envoy.transport_socket_match';

/**
 * HTTP/2 upstream for gRPC and HTTP/2 ports; requests per connection (a DestinationPolicy's
 * httpMaxRequestsPerConnection) in the same options.
 */
function protocolOptions(
  p: Protocol,
  maxRequestsPerConnection?: number,
): Pick<Cluster, 'typed_extension_protocol_options'> {
  if (!isHttp2(p) && maxRequestsPerConnection === undefined) return {};
  const opts: HttpProtocolOptions = {
    ...(maxRequestsPerConnection !== undefined
      ? {
          common_http_protocol_options: {
            max_requests_per_connection: { value: maxRequestsPerConnection },
          },
        }
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

/** Peer identities a client accepts for a service: the service accounts of its endpoints. */
function peerSans(ctx: GenContext, svc: Service, eps: readonly Endpoint[]): string[] {
  const accounts = new Set<string>();
  for (const e of eps) if (e.serviceAccount !== undefined) accounts.add(e.serviceAccount);
  return [...accounts].sort().map((sa) => spiffeId(ctx.mesh.trustDomain, svc.namespace, sa));
}

function sni(port: number, hostname: string): string {
  return `outbound_.${port}_._.${hostname}`;
}

interface ClusterOptions {
  readonly ctx: GenContext;
  readonly svc: Service;
  readonly port: ServicePort;
  /** The endpoints of the cluster (a subset's only). */
  readonly eps: readonly Endpoint[];
  readonly forGrpc: boolean;
  /** A version of the service, or undefined for all its endpoints. */
  readonly subset: Subset | undefined;
  readonly policy: DestinationPolicy | undefined;
}

function outboundCluster(o: ClusterOptions): Resource {
  const { ctx, svc, port, eps, forGrpc, subset, policy } = o;
  const name = outboundClusterName(port.port, svc.hostname, subset?.name);
  const perConnection = forGrpc ? undefined : policy?.circuitBreaker?.httpMaxRequestsPerConnection;
  const base: Cluster = {
    name,
    connect_timeout: duration(ctx.connectTimeoutMs),
    ...protocolOptions(port.protocol, perConnection),
  };
  // Proxyless gRPC has no ORIGINAL_DST: a headless service is balanced over its pods by EDS, as
  // is a version of one (ORIGINAL_DST cannot pick a subset). A service from another registry has
  // no cluster IP either, but its clients dial its hostname: EDS too.
  if (svc.clusterIP === undefined && isKubernetesService(svc) && !forGrpc && subset === undefined) {
    const tls =
      ctx.mesh.authPolicy === 'MUTUAL_TLS'
        ? {
            transport_socket: upstreamTlsSocket(
              peerSans(ctx, svc, eps),
              sni(port.port, svc.hostname),
            ),
          }
        : {};
    const c: Cluster = { ...base, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', ...tls };
    return makeResource(TypeUrl.Cluster, name, c);
  }
  const tls: Pick<Cluster, 'transport_socket_matches'> =
    meshTls(ctx) && !forGrpc
      ? {
          transport_socket_matches: [
            {
              name: 'tlsMode-istio',
              match: { fields: { tlsMode: { stringValue: 'istio' } } },
              transport_socket: upstreamTlsSocket(
                peerSans(ctx, svc, eps),
                sni(port.port, svc.hostname),
              ),
            },
            { name: 'tlsMode-disabled', match: {}, transport_socket: rawBufferSocket() },
          ],
        }
      : {};
  const c: Cluster = {
    ...base,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
    lb_policy: 'ROUND_ROBIN',
    ...tls,
  };
  return makeResource(TypeUrl.Cluster, name, withPolicy(c, policy, forGrpc), { eds: true });
}

/**
 * The outbound clusters of one service: per proxied port, one for all endpoints and one per
 * version a RouteRule routes to, each with the DestinationPolicy that applies for `view`.
 */
export function serviceClusters(
  ctx: GenContext,
  svc: Service,
  eps: readonly Endpoint[],
  forGrpc: boolean,
  traffic: HostTraffic = emptyHostTraffic,
  view: SourceView = noSourceView,
): Resource[] {
  const out: Resource[] = [];
  for (const port of svc.ports) {
    if (port.protocol === 'UDP') continue;
    const common = { ctx, svc, port, forGrpc };
    out.push(
      outboundCluster({
        ...common,
        eps,
        subset: undefined,
        policy: policyFor(traffic, undefined, view),
      }),
    );
    for (const subset of traffic.subsets) {
      const mine = eps.filter((e) => hasLabels(e.labels, subset.labels));
      const policy = policyFor(traffic, subset.labels, view);
      out.push(outboundCluster({ ...common, eps: mine, subset, policy }));
    }
  }
  return out;
}

/** Clusters for traffic to destinations outside the registry: to the original address, as is. */
export function passthroughClusters(ctx: GenContext): Resource[] {
  return [ClusterName.Passthrough, ClusterName.InboundPassthrough].map((name) => {
    const c: Cluster = {
      name,
      type: 'ORIGINAL_DST',
      lb_policy: 'CLUSTER_PROVIDED',
      connect_timeout: duration(ctx.connectTimeoutMs),
    };
    return makeResource(TypeUrl.Cluster, name, c);
  });
}

/** The application's own port, reached on loopback (as 0.2 did). */
export function inboundCluster(ctx: GenContext, port: number, protocol: Protocol): Resource {
  const name = inboundClusterName(port);
  const c: Cluster = {
    name,
    type: 'STATIC',
    connect_timeout: duration(ctx.connectTimeoutMs),
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
            },
          ],
        },
      ],
    },
    ...protocolOptions(protocol),
  };
  return makeResource(TypeUrl.Cluster, name, c);
}

/**
 * Generators registered by type URL, one set per kind of client: Envoy sidecars, Envoy gateways
 * (`router`) and proxyless gRPC. Adding a resource type is one entry here, not a growing switch.
 */
import { TypeUrl, type XdsType } from '../../lib/xds/type-urls.ts';
import type { Proxy, ProxyKind } from '../model/proxy.ts';
import { inboundResources } from '../generate/inbound.ts';
import type { Resource } from '../generate/resource.ts';
import { noSourceView } from '../traffic/traffic.ts';
import type { MeshBuild } from './mesh-build.ts';

export type Generator = (build: MeshBuild, proxy: Proxy) => readonly Resource[];
export type GeneratorSet = Readonly<Record<XdsType, Generator>>;

type Inbound = ReturnType<typeof inboundResources>;

/**
 * Inbound sides by context and port set: generated once, the same objects from build to build
 * (so a snapshot keeps them, and its maps, while they do not change). Bounded: cleared past 1,000
 * port sets.
 */
const inboundCache = new WeakMap<MeshBuild['ctx'], Map<string, Inbound>>();

/** The sidecar's own inbound side, when its IP serves registered endpoints. */
function inbound(build: MeshBuild, proxy: Proxy): Inbound {
  const ports = proxy.ip === undefined ? [] : build.inboundPorts(proxy.ip);
  let byPorts = inboundCache.get(build.ctx);
  if (!byPorts) inboundCache.set(build.ctx, (byPorts = new Map<string, Inbound>()));
  const key = ports.map((p) => `${String(p.port)}/${p.protocol}`).join(',');
  let r = byPorts.get(key);
  if (!r) {
    if (byPorts.size >= 1000) byPorts.clear();
    r = inboundResources(build.ctx, ports);
    byPorts.set(key, r);
  }
  return r;
}

const sidecar: GeneratorSet = {
  [TypeUrl.Cluster]: (b, p) => {
    const mesh = b.clustersFor('sidecar', b.viewOf(p));
    const own = inbound(b, p).clusters;
    // The build's list itself when the sidecar serves nothing: shared by every such sidecar.
    return own.length === 0 ? mesh : [...mesh, ...own];
  },
  [TypeUrl.ClusterLoadAssignment]: (b) => b.endpoints,
  [TypeUrl.Listener]: (b, p) => [b.outboundListener, inbound(b, p).listener],
  [TypeUrl.RouteConfiguration]: (b, p) => b.routesFor(p.namespace, b.viewOf(p)),
};

/**
 * Gateways get the mesh's clusters and endpoints, and what they serve: Ingresses on the ingress
 * gateway, proxied EgressRules on the egress gateway (see gateways.ts).
 */
const router: GeneratorSet = {
  [TypeUrl.Cluster]: (b, p) => [
    ...b.clustersFor('sidecar', noSourceView),
    ...b.gatewayFor(p).clusters,
  ],
  [TypeUrl.ClusterLoadAssignment]: (b) => b.endpoints,
  [TypeUrl.Listener]: (b, p) => b.gatewayFor(p).listeners,
  [TypeUrl.RouteConfiguration]: (b, p) => b.gatewayFor(p).routes,
};

const grpc: GeneratorSet = {
  [TypeUrl.Cluster]: (b, p) => b.clustersFor('grpc', b.viewOf(p)),
  [TypeUrl.ClusterLoadAssignment]: (b) => b.endpoints,
  [TypeUrl.Listener]: (b) => b.grpcListeners,
  [TypeUrl.RouteConfiguration]: (b, p) => b.grpcRoutesFor(b.viewOf(p)),
};

export const generators: Readonly<Record<ProxyKind, GeneratorSet>> = { sidecar, router, grpc };

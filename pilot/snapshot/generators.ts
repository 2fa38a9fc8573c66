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

/** The sidecar's own inbound side, when its IP serves registered endpoints. */
function inbound(build: MeshBuild, proxy: Proxy): ReturnType<typeof inboundResources> {
  const ports = proxy.ip === undefined ? [] : build.inboundPorts(proxy.ip);
  return inboundResources(build.ctx, ports);
}

const sidecar: GeneratorSet = {
  [TypeUrl.Cluster]: (b, p) => [
    ...b.clustersFor('sidecar', b.viewOf(p)),
    ...inbound(b, p).clusters,
  ],
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

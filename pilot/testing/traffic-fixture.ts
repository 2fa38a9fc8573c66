/**
 * A small mesh for traffic-management tests: `reviews` with pods of versions v1, v2, v3,
 * `ratings` (v1), `productpage` (the caller), a gRPC `echo` (v1, v2), a Mongo `db`, and the
 * gateways `istio-ingress` and `istio-egress`; config objects written as the API server returns them, and one call from
 * config to a proxy's snapshot.
 */
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import type { V1Ingress, V1IngressSpec } from '@kubernetes/client-node';
import { parseCrdObject, parseIngressObject, type CrdKind } from '../config/parse.ts';
import { ConfigStore } from '../config/store.ts';
import type { ConfigState } from '../config/model.ts';
import { genContext } from '../generate/context.ts';
import { MemoryRegistry } from '../model/memory-registry.ts';
import { parseProxy, type Proxy } from '../model/proxy.ts';
import type { ServiceRegistry } from '../model/service.ts';
import { MeshBuilder, type MeshBuild } from '../snapshot/mesh-build.ts';
import { buildProxySnapshot, type ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import { endpoint, service } from './fixtures.ts';

export const host = (name: string, ns = 'shop') => `${name}.${ns}.svc.cluster.local`;

export function trafficRegistry(): MemoryRegistry {
  const r = new MemoryRegistry();
  const v = (version: string, app: string) => ({ labels: { app, version } });
  r.batch((b) => {
    b.setService(service('reviews', 'shop', { http: 9080 }, '10.0.0.10'));
    b.setService(service('ratings', 'shop', { http: 9080 }, '10.0.0.11'));
    b.setService(service('productpage', 'shop', { http: 9080 }, '10.0.0.12'));
    b.setService(service('echo', 'shop', { grpc: 50051 }, '10.0.0.13'));
    b.setService(service('istio-egress', 'istio-system', { http: 80 }, '10.0.0.99'));
    b.setService(service('db', 'shop', { mongo: 27017 }, '10.0.0.14'));
    b.setService(service('details', 'shop', { http: 9080, 'tcp-admin': 9999 }, '10.0.0.15'));
    b.setService(service('istio-ingress', 'istio-system', { http: 80, https: 443 }, '10.0.0.98'));
    b.setEndpoints(host('istio-ingress', 'istio-system'), [
      endpoint('10.9.1.1', 8080, 'http', { labels: { istio: 'ingress' } }),
      endpoint('10.9.1.1', 8443, 'https', { labels: { istio: 'ingress' } }),
    ]);
    b.setEndpoints(host('reviews'), [
      endpoint('10.1.0.1', 9080, 'http', v('v1', 'reviews')),
      endpoint('10.1.0.2', 9080, 'http', v('v2', 'reviews')),
      endpoint('10.1.0.3', 9080, 'http', v('v3', 'reviews')),
    ]);
    b.setEndpoints(host('ratings'), [endpoint('10.1.1.1', 9080, 'http', v('v1', 'ratings'))]);
    b.setEndpoints(host('productpage'), [
      endpoint('10.1.2.1', 9080, 'http', v('v1', 'productpage')),
    ]);
    b.setEndpoints(host('echo'), [
      endpoint('10.1.3.1', 50051, 'grpc', v('v1', 'echo')),
      endpoint('10.1.3.2', 50051, 'grpc', v('v2', 'echo')),
    ]);
    b.setEndpoints(host('istio-egress', 'istio-system'), [
      endpoint('10.9.0.1', 8080, 'http', { labels: { istio: 'egress' } }),
    ]);
  });
  return r;
}

export const trafficProxies: Readonly<Record<string, Proxy>> = {
  /** The productpage pod's sidecar (source of most calls). */
  productpage: parseProxy('sidecar~10.1.2.1~productpage-1.shop~shop.svc.cluster.local', {}),
  /** A reviews v1 pod's sidecar. */
  reviews: parseProxy('sidecar~10.1.0.1~reviews-1.shop~shop.svc.cluster.local', {}),
  /** A proxyless gRPC client labelled app=productpage. */
  grpc: parseProxy('grpc-client', {
    GENERATOR: 'grpc',
    NAMESPACE: 'shop',
    LABELS: { app: 'productpage' },
  }),
  /** A proxyless gRPC client of no particular app. */
  grpcOther: parseProxy('grpc-other', { GENERATOR: 'grpc', NAMESPACE: 'shop' }),
  /** The ingress gateway (an endpoint of istio-ingress). */
  ingress: parseProxy(
    'router~10.9.1.1~istio-ingress-1.istio-system~istio-system.svc.cluster.local',
    {},
  ),
  /** The egress gateway (an endpoint of istio-egress). */
  egress: parseProxy(
    'router~10.9.0.1~istio-egress-1.istio-system~istio-system.svc.cluster.local',
    {},
  ),
};

/** A config object as the API server returns it. */
export function crd(kind: CrdKind, name: string, spec: object, namespace = 'shop'): object {
  return {
    apiVersion: 'config.istio.io/v1alpha2',
    kind,
    metadata: { name, namespace, uid: `uid-${name}`, generation: 1 },
    spec,
  };
}

/** A Kubernetes Ingress of class istio, as the API server returns it. */
export function ingress(
  name: string,
  spec: Readonly<Pick<V1IngressSpec, 'rules' | 'tls' | 'defaultBackend'>>,
  namespace = 'shop',
): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace, uid: `uid-${name}`, generation: 1 },
    spec: Object.assign({ ingressClassName: 'istio' }, spec),
  };
}

export function configOf(objects: readonly object[]): ConfigState {
  const store = new ConfigStore();
  for (const o of objects) {
    const kind = (o as { kind: CrdKind | 'Ingress' }).kind;
    const parsed =
      kind === 'Ingress'
        ? parseIngressObject(o, 'cluster.local')
        : parseCrdObject(kind, o, 'cluster.local');
    if (parsed) store.set(parsed.key, parsed.entry);
  }
  return store.current();
}

export function trafficBuild(
  objects: readonly object[],
  registry: Pick<ServiceRegistry, 'current'> = trafficRegistry(),
  builder = new MeshBuilder(),
): MeshBuild {
  return builder.build(
    registry.current(),
    genContext({ ...defaultMeshConfig, authPolicy: 'NONE' }),
    Date.now(),
    configOf(objects),
  );
}

export function trafficSnapshot(objects: readonly object[], proxy: Proxy): ProxySnapshot {
  return buildProxySnapshot(trafficBuild(objects), proxy);
}

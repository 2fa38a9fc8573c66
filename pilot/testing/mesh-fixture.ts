/**
 * A small mesh with one service per protocol Pilot treats differently, shared by the generator,
 * snapshot and ADS tests: HTTP, gRPC, Mongo, Redis, a headless service, a UDP port, and the same
 * service name in two namespaces.
 */
import { MemoryRegistry } from '../model/memory-registry.ts';
import { parseProxy, type Proxy } from '../model/proxy.ts';
import { endpoint, service } from './fixtures.ts';

export const zoneA = { region: 'r1', zone: 'a', subzone: '' };
export const zoneB = { region: 'r1', zone: 'b', subzone: '' };

export const fixtureServices = {
  reviews: service('reviews', 'shop', { http: 9080 }, '10.0.0.10'),
  echo: service('echo', 'shop', { grpc: 50051 }, '10.0.0.11'),
  db: service('db', 'shop', { mongo: 27017 }, '10.0.0.12'),
  cache: service('cache', 'shop', { redis: 6379 }, '10.0.0.13'),
  kafka: service('kafka', 'shop', { 'tcp-broker': 9092, 'http-admin': 8080 }, undefined),
  dns: service('dns', 'shop', { 'udp-dns': 53, 'tcp-dns': 53 }, '10.0.0.14'),
  otherReviews: service('reviews', 'other', { http: 9080 }, '10.0.0.20'),
};

export function fixtureRegistry(): MemoryRegistry {
  const s = fixtureServices;
  const r = new MemoryRegistry();
  r.batch((b) => {
    for (const svc of Object.values(s)) b.setService(svc);
    b.setEndpoints(s.reviews.hostname, [
      endpoint('10.1.0.1', 9080, 'http', { locality: zoneA, serviceAccount: 'reviews' }),
      endpoint('10.1.0.2', 9080, 'http', { locality: zoneB, serviceAccount: 'reviews', weight: 3 }),
      endpoint('10.1.0.3', 9080, 'http', { locality: zoneB, ready: false }),
    ]);
    b.setEndpoints(s.echo.hostname, [endpoint('10.1.0.4', 50051, 'grpc')]);
    b.setEndpoints(s.db.hostname, [endpoint('10.1.0.5', 27017, 'mongo')]);
    b.setEndpoints(s.cache.hostname, [
      endpoint('10.1.0.6', 6379, 'redis', { tlsMode: 'disabled' }),
    ]);
    b.setEndpoints(s.kafka.hostname, [
      endpoint('10.1.0.7', 9092, 'tcp-broker'),
      endpoint('10.1.0.8', 9092, 'tcp-broker'),
      endpoint('10.1.0.7', 8080, 'http-admin'),
    ]);
    b.setEndpoints(s.otherReviews.hostname, [endpoint('10.2.0.1', 9080, 'http')]);
  });
  return r;
}

export const fixtureProxies: Readonly<Record<'sidecar' | 'router' | 'grpc', Proxy>> = {
  sidecar: parseProxy('sidecar~10.1.0.1~reviews-1.shop~shop.svc.cluster.local', {}),
  router: parseProxy('router~10.1.0.99~gw-1.istio-system~istio-system.svc.cluster.local', {}),
  grpc: parseProxy('grpc-client', { GENERATOR: 'grpc', NAMESPACE: 'shop' }),
};

/**
 * RouteRules, DestinationPolicies and Mixer's filters apply to Consul and Eureka services as to
 * Kubernetes ones: resolution is by hostname, and a Kubernetes sidecar's snapshot (or a proxyless
 * gRPC client's) gets their clusters, endpoints and routes, each accepted by its client.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { parseProxy } from '../model/proxy.ts';
import { MemoryRegistry } from '../model/memory-registry.ts';
import { buildProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import {
  allResources,
  assertEnvoyAccepts,
  assertGrpcAccepts,
  at,
  resourceJson,
  type Json,
} from '../testing/resource-checks.ts';
import { crd, trafficBuild, trafficProxies, trafficRegistry } from '../testing/traffic-fixture.ts';
import { AggregateRegistry, standIn } from './aggregate.ts';
import { parseHealthService } from './consul-wire.ts';
import { consulServiceView } from './consul.ts';
import { eurekaServices } from './eureka.ts';

/** Kubernetes (the traffic fixture's mesh) + Consul's reviews v1/v2 + Eureka's ratings. */
function meshRegistry(): AggregateRegistry {
  const consul = new MemoryRegistry();
  const entries = parseHealthService(
    ['v1', 'v2'].map((v, i) => ({
      Node: { Node: `vm-${v}`, Address: `192.168.0.${String(i + 1)}` },
      Service: { ID: `reviews-${v}`, Service: 'reviews', Port: 9080, Tags: [`version|${v}`] },
      Checks: [{ CheckID: 'c', Status: 'passing' }],
    })),
    'test',
  );
  const pg = parseHealthService(
    [
      {
        Node: { Node: 'vm-db', Address: '192.168.2.1' },
        Service: { ID: 'pg-1', Service: 'pg', Port: 5432, Meta: { protocol: 'tcp' } },
      },
    ],
    'test',
  );
  for (const view of [
    consulServiceView('reviews', entries, () => undefined),
    consulServiceView('pg', pg, () => undefined),
  ]) {
    assert.ok(view);
    consul.setService(view.service);
    consul.setEndpoints(view.service.hostname, view.endpoints);
  }
  const eureka = new MemoryRegistry();
  const ratings = eurekaServices(
    [
      {
        name: 'RATINGS',
        instances: [
          {
            instanceId: 'r1',
            hostName: 'ratings.eureka.local',
            app: 'RATINGS',
            ipAddr: '192.168.1.1',
            status: 'UP',
            port: { port: 9080, enabled: true },
            securePort: undefined,
            metadata: new Map([['istio.protocol', 'grpc']]),
          },
        ],
      },
    ],
    () => undefined,
  );
  for (const v of ratings.values()) {
    eureka.setService(v.service);
    eureka.setEndpoints(v.service.hostname, v.endpoints);
  }
  return new AggregateRegistry(
    [
      standIn(trafficRegistry(), 'Kubernetes'),
      standIn(consul, 'Consul'),
      standIn(eureka, 'Eureka'),
    ],
    pino({ level: 'silent' }),
  );
}

const split = crd('RouteRule', 'reviews-split', {
  destination: { service: 'reviews.service.consul' },
  route: [
    { labels: { version: 'v1' }, weight: 75 },
    { labels: { version: 'v2' }, weight: 25 },
  ],
});

const policy = crd('DestinationPolicy', 'reviews-lb', {
  destination: { service: 'reviews.service.consul', labels: { version: 'v2' } },
  loadBalancing: { name: 'RANDOM' },
});

function build(objects: readonly object[]) {
  return trafficBuild(objects, meshRegistry());
}

describe('traffic rules on services from Consul and Eureka', () => {
  it('a RouteRule splitting reviews.service.consul by version reaches a Kubernetes sidecar', () => {
    const b = build([split, policy]);
    assert.deepEqual(b.traffic.problems, []);
    const snap = buildProxySnapshot(b, trafficProxies['productpage'] ?? assert.fail());
    for (const r of allResources(snap)) assertEnvoyAccepts(r);

    const host = 'reviews.service.consul';
    for (const subset of ['', 'version=v1', 'version=v2']) {
      const c = resourceJson(snap, TypeUrl.Cluster, `outbound|9080|${subset}|${host}`);
      // Balanced over its endpoints: there is no cluster IP to pass through to.
      assert.equal(c['type'], 'EDS');
    }
    const v2 = resourceJson(snap, TypeUrl.Cluster, `outbound|9080|version=v2|${host}`);
    assert.equal(v2['lb_policy'], 'RANDOM');
    const cla = resourceJson(
      snap,
      TypeUrl.ClusterLoadAssignment,
      `outbound|9080|version=v1|${host}`,
    );
    assert.deepEqual(at(cla, 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address'), {
      socket_address: { address: '192.168.0.1', port_value: 9080 },
    });

    const rc = resourceJson(snap, TypeUrl.RouteConfiguration, '9080');
    const vh = (rc['virtual_hosts'] as Json[]).find((h) => h['name'] === `${host}:9080`);
    assert.ok(vh);
    // Its hostname only: no Kubernetes short names for a Consul service.
    assert.deepEqual(vh['domains'], [host, `${host}:9080`]);
    const clusters = at(vh, 'routes', 0, 'route', 'weighted_clusters', 'clusters') as Json[];
    assert.deepEqual(
      clusters.map((c) => [c['name'], at(c, 'weight', 'value')]),
      [
        [`outbound|9080|version=v1|${host}`, 75],
        [`outbound|9080|version=v2|${host}`, 25],
      ],
    );
  });

  it('a rule naming a version no Consul instance has is reported, not applied', () => {
    const b = build([
      crd('RouteRule', 'to-v9', {
        destination: { service: 'reviews.service.consul' },
        route: [{ labels: { version: 'v9' } }],
      }),
    ]);
    assert.match(
      b.traffic.problems.map((p) => p.message).join('\n'),
      /no pod of reviews.service.consul has labels version=v9/,
    );
  });

  it('proxyless gRPC clients resolve a Eureka gRPC service and a Consul service', () => {
    const b = build([split]);
    const snap = buildProxySnapshot(b, trafficProxies['grpc'] ?? assert.fail());
    for (const r of allResources(snap)) {
      assertEnvoyAccepts(r);
      assertGrpcAccepts(r);
    }
    const names = allResources(snap)
      .filter((r) => r.typeUrl === TypeUrl.Listener)
      .map((r) => r.name);
    assert.ok(names.includes('ratings.eureka.local:9080'), names.join(','));
    assert.ok(names.includes('reviews.service.consul:9080'), names.join(','));
    const rc = resourceJson(snap, TypeUrl.RouteConfiguration, 'reviews.service.consul:9080');
    const clusters = at(
      rc,
      'virtual_hosts',
      0,
      'routes',
      0,
      'route',
      'weighted_clusters',
      'clusters',
    );
    assert.equal((clusters as Json[]).length, 2);
  });

  it('Mixer reports name a Consul TCP destination, reached at its instances’ addresses', () => {
    const b = build([]);
    const proxy = parseProxy('sidecar~10.1.2.1~productpage-1.shop~shop.svc.cluster.local', {});
    const snap = buildProxySnapshot(b, proxy);
    const outbound = resourceJson(snap, TypeUrl.Listener, 'virtualOutbound');
    const chain = (outbound['filter_chains'] as Json[]).find(
      (c) => c['name'] === 'outbound|5432||pg.service.consul',
    );
    assert.ok(chain);
    assert.deepEqual(at(chain, 'filter_chain_match', 'prefix_ranges'), [
      { address_prefix: '192.168.2.1', prefix_len: { value: 32 } },
    ]);
    const tcp = (chain['filters'] as Json[]).find(
      (f) => f['name'] === 'envoy.filters.network.tcp_proxy',
    );
    const tags = at(
      tcp,
      'typed_config',
      'access_log',
      0,
      'typed_config',
      'common_config',
      'custom_tags',
    );
    assert.match(JSON.stringify(tags), /"destination.service".*"pg\.service\.consul"/);
  });
});

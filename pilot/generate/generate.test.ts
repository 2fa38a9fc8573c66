import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { AuthPolicy, defaultMeshConfig, type AuthPolicy as Policy } from '../../lib/mesh-config.ts';
import { decodeMessage, assertNoUnknownFields } from '../../lib/xds/protos.ts';
import { envoyRuleViolationsOf } from '../../lib/xds/envoy-rules.ts';
import { anyToJson } from '../../lib/xds/json-view.ts';
import { TypeUrl, XdsTypeOrder, type XdsType } from '../../lib/xds/type-urls.ts';
import { genContext } from './context.ts';
import { MeshBuilder, type MeshBuild } from '../snapshot/mesh-build.ts';
import { buildProxySnapshot, type ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import { fixtureProxies, fixtureRegistry, fixtureServices } from '../testing/mesh-fixture.ts';
import type { Resource } from './resource.ts';

type Json = Record<string, unknown>;

function build(policy: Policy): MeshBuild {
  const ctx = genContext({ ...defaultMeshConfig, authPolicy: policy });
  return new MeshBuilder().build(fixtureRegistry().current(), ctx, Date.now());
}

function snapshotFor(policy: Policy, kind: keyof typeof fixtureProxies): ProxySnapshot {
  return buildProxySnapshot(build(policy), fixtureProxies[kind]);
}

function json(snap: ProxySnapshot, type: XdsType, name: string): Json {
  const r = snap.resources.get(type)?.get(name);
  assert.ok(r, `${name} in snapshot`);
  return anyToJson(r.any);
}

function all(snap: ProxySnapshot): Resource[] {
  return XdsTypeOrder.flatMap((t) => [...(snap.resources.get(t)?.values() ?? [])]);
}

/** Navigates a JSON tree by a path of keys and indexes. */
function at(v: unknown, ...path: (string | number)[]): unknown {
  let cur = v;
  for (const p of path) cur = (cur as Record<string | number, unknown> | undefined)?.[p];
  return cur;
}

function chains(listener: Json): Json[] {
  return listener['filter_chains'] as Json[];
}

const reviews = fixtureServices.reviews.hostname;
const reviewsCluster = `outbound|9080||${reviews}`;

describe('pilot generators', () => {
  for (const policy of AuthPolicy) {
    for (const kind of ['sidecar', 'router', 'grpc'] as const) {
      it(`${policy} ${kind}: every resource round-trips with no unknown fields and passes Envoy's rules`, () => {
        const snap = snapshotFor(policy, kind);
        const resources = all(snap);
        assert.ok(resources.length > 5);
        for (const r of resources) {
          const any = decodeMessage('google.protobuf.Any', r.any);
          assert.equal(any['type_url'], r.typeUrl);
          const value = any['value'] as Uint8Array;
          assert.doesNotThrow(() => {
            assertNoUnknownFields(r.typeUrl, value);
          }, r.name);
          assert.deepEqual(envoyRuleViolationsOf(r.typeUrl, value), [], r.name);
        }
      });
    }
  }

  it('names outbound clusters outbound|<port>||<host>, skips UDP ports, adds passthrough', () => {
    const names = [
      ...(snapshotFor('NONE', 'sidecar').resources.get(TypeUrl.Cluster)?.keys() ?? []),
    ];
    for (const want of [
      reviewsCluster,
      'outbound|50051||echo.shop.svc.cluster.local',
      'outbound|27017||db.shop.svc.cluster.local',
      'outbound|6379||cache.shop.svc.cluster.local',
      'outbound|9092||kafka.shop.svc.cluster.local',
      'outbound|53||dns.shop.svc.cluster.local',
      'PassthroughCluster',
      'InboundPassthroughCluster',
      'inbound|9080||',
    ]) {
      assert.ok(names.includes(want), want);
    }
    assert.equal(names.filter((n) => n.startsWith('outbound|53|')).length, 1);
  });

  it('gives endpoints a locality and weights, drops unready ones, and marks tlsMode', () => {
    const cla = json(snapshotFor('NONE', 'sidecar'), TypeUrl.ClusterLoadAssignment, reviewsCluster);
    const localities = cla['endpoints'] as Json[];
    assert.equal(localities.length, 2);
    assert.deepEqual(at(localities, 0, 'locality'), { region: 'r1', zone: 'a' });
    assert.deepEqual(at(localities, 1, 'load_balancing_weight'), { value: 3 });
    assert.equal((at(localities, 1, 'lb_endpoints') as Json[]).length, 1);
    assert.equal(
      at(localities, 0, 'lb_endpoints', 0, 'endpoint', 'address', 'socket_address', 'address'),
      '10.1.0.1',
    );
    assert.deepEqual(
      at(
        localities,
        0,
        'lb_endpoints',
        0,
        'metadata',
        'filter_metadata',
        'envoy.transport_socket_match',
      ),
      { tlsMode: 'istio' },
    );
  });

  it('speaks HTTP/2 upstream on gRPC ports', () => {
    const c = json(
      snapshotFor('NONE', 'sidecar'),
      TypeUrl.Cluster,
      'outbound|50051||echo.shop.svc.cluster.local',
    );
    assert.deepEqual(
      at(
        c,
        'typed_extension_protocol_options',
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        'explicit_http_config',
      ),
      { http2_protocol_options: {} },
    );
    const http = json(snapshotFor('NONE', 'sidecar'), TypeUrl.Cluster, reviewsCluster);
    assert.equal(http['typed_extension_protocol_options'], undefined);
  });

  describe('outbound listener', () => {
    const l = json(snapshotFor('NONE', 'sidecar'), TypeUrl.Listener, 'virtualOutbound');
    const byName = (n: string) => chains(l).find((c) => c['name'] === n);

    it('listens on 15001 with the original destination filter and a passthrough default', () => {
      assert.equal(at(l, 'address', 'socket_address', 'port_value'), 15001);
      assert.equal(at(l, 'listener_filters', 0, 'name'), 'envoy.filters.listener.original_dst');
      assert.equal(
        at(l, 'default_filter_chain', 'filters', 0, 'typed_config', 'cluster'),
        'PassthroughCluster',
      );
    });

    it('sends HTTP ports to an HTTP connection manager with RDS and WebSocket upgrades', () => {
      const c = byName('0.0.0.0_9080');
      assert.ok(c);
      assert.deepEqual(at(c, 'filter_chain_match'), { destination_port: { value: 9080 } });
      const hcm = at(c, 'filters', 0, 'typed_config') as Json;
      assert.equal(at(hcm, 'rds', 'route_config_name'), '9080');
      assert.deepEqual(at(hcm, 'rds', 'config_source', 'ads'), {});
      assert.deepEqual(hcm['upgrade_configs'], [{ upgrade_type: 'websocket' }]);
      assert.ok(byName('0.0.0.0_50051'), 'gRPC port is HTTP');
      assert.ok(byName('0.0.0.0_8080'), 'headless HTTP port');
    });

    it('puts the Mongo proxy before the TCP proxy on mongo ports; Redis is plain TCP', () => {
      const mongo = byName('outbound|27017||db.shop.svc.cluster.local');
      assert.deepEqual(
        (at(mongo, 'filters') as Json[]).map((f) => f['name']),
        ['envoy.filters.network.mongo_proxy', 'envoy.filters.network.tcp_proxy'],
      );
      assert.deepEqual(at(mongo, 'filter_chain_match', 'prefix_ranges'), [
        { address_prefix: '10.0.0.12', prefix_len: { value: 32 } },
      ]);
      const redis = byName('outbound|6379||cache.shop.svc.cluster.local');
      assert.deepEqual(
        (at(redis, 'filters') as Json[]).map((f) => f['name']),
        ['envoy.filters.network.tcp_proxy'],
      );
    });

    it('reaches a headless service by each pod address', () => {
      const kafka = byName('outbound|9092||kafka.shop.svc.cluster.local');
      assert.deepEqual(
        (at(kafka, 'filter_chain_match', 'prefix_ranges') as Json[]).map(
          (r) => r['address_prefix'],
        ),
        ['10.1.0.7', '10.1.0.8'],
      );
      const c = json(
        snapshotFor('NONE', 'sidecar'),
        TypeUrl.Cluster,
        'outbound|9092||kafka.shop.svc.cluster.local',
      );
      assert.equal(c['type'], 'ORIGINAL_DST');
      assert.equal(c['lb_policy'], 'CLUSTER_PROVIDED');
    });

    it('never has two chains with the same match', () => {
      const seen = new Set(chains(l).map((c) => JSON.stringify(c['filter_chain_match'])));
      assert.equal(seen.size, chains(l).length);
    });
  });

  it('routes each service by all its DNS names, short names only in its own namespace', () => {
    const rc = json(snapshotFor('NONE', 'sidecar'), TypeUrl.RouteConfiguration, '9080');
    const hosts = rc['virtual_hosts'] as Json[];
    const shop = hosts.find((h) => h['name'] === `${reviews}:9080`);
    const other = hosts.find((h) => h['name'] === 'reviews.other.svc.cluster.local:9080');
    assert.ok(shop && other);
    const shopDomains = shop['domains'] as string[];
    for (const d of [
      reviews,
      `${reviews}:9080`,
      'reviews.shop',
      'reviews',
      'reviews:9080',
      '10.0.0.10:9080',
    ]) {
      assert.ok(shopDomains.includes(d), d);
    }
    assert.ok(!(other['domains'] as string[]).includes('reviews'));
    assert.equal(at(shop, 'routes', 0, 'route', 'cluster'), reviewsCluster);
    assert.equal(at(hosts, hosts.length - 1, 'name'), 'allow_any');
    const all = hosts.flatMap((h) => h['domains'] as string[]);
    assert.equal(new Set(all).size, all.length, 'no domain twice');
  });

  describe('mutual TLS per authPolicy', () => {
    const inbound = (p: Policy) =>
      json(snapshotFor(p, 'sidecar'), TypeUrl.Listener, 'virtualInbound');

    it('NONE: plaintext inbound and outbound', () => {
      const l = inbound('NONE');
      assert.deepEqual(
        chains(l).map((c) => c['name']),
        ['inbound|9080||'],
      );
      assert.equal(at(chains(l), 0, 'transport_socket'), undefined);
      const c = json(snapshotFor('NONE', 'sidecar'), TypeUrl.Cluster, reviewsCluster);
      assert.equal(c['transport_socket_matches'], undefined);
    });

    it('MUTUAL_TLS: every inbound service port requires a client certificate', () => {
      const l = inbound('MUTUAL_TLS');
      assert.equal(chains(l).length, 1);
      const tls = at(chains(l), 0, 'transport_socket', 'typed_config') as Json;
      assert.deepEqual(tls['require_client_certificate'], { value: true });
      assert.equal(
        at(tls, 'common_tls_context', 'tls_certificate_sds_secret_configs', 0, 'name'),
        'default',
      );
      assert.equal(
        at(
          tls,
          'common_tls_context',
          'combined_validation_context',
          'validation_context_sds_secret_config',
          'name',
        ),
        'ROOTCA',
      );
      const headless = json(
        snapshotFor('MUTUAL_TLS', 'sidecar'),
        TypeUrl.Cluster,
        'outbound|9092||kafka.shop.svc.cluster.local',
      );
      assert.equal(at(headless, 'transport_socket', 'name'), 'envoy.transport_sockets.tls');
    });

    it('PERMISSIVE: mTLS (ALPN istio) and plaintext on the same port', () => {
      const l = inbound('PERMISSIVE');
      assert.deepEqual(
        (l['listener_filters'] as Json[]).map((f) => f['name']),
        ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector'],
      );
      const [mtls, plain] = chains(l);
      assert.deepEqual(at(mtls, 'filter_chain_match'), {
        destination_port: { value: 9080 },
        transport_protocol: 'tls',
        application_protocols: ['istio'],
      });
      assert.ok(at(mtls, 'transport_socket'));
      assert.deepEqual(at(plain, 'filter_chain_match'), { destination_port: { value: 9080 } });
      assert.equal(at(plain, 'transport_socket'), undefined);
    });

    for (const p of ['PERMISSIVE', 'MUTUAL_TLS'] as const) {
      it(`${p}: outbound mTLS to sidecar endpoints, plaintext to the others, peers checked by SPIFFE id`, () => {
        const c = json(snapshotFor(p, 'sidecar'), TypeUrl.Cluster, reviewsCluster);
        const matches = c['transport_socket_matches'] as Json[];
        assert.deepEqual(at(matches, 0, 'match'), { tlsMode: 'istio' });
        const ctx = at(matches, 0, 'transport_socket', 'typed_config') as Json;
        assert.deepEqual(
          at(
            ctx,
            'common_tls_context',
            'combined_validation_context',
            'default_validation_context',
            'match_typed_subject_alt_names',
          ),
          [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/shop/sa/reviews' } }],
        );
        assert.equal(
          at(matches, 1, 'transport_socket', 'name'),
          'envoy.transport_sockets.raw_buffer',
        );
        const grpc = json(snapshotFor(p, 'grpc'), TypeUrl.Cluster, reviewsCluster);
        assert.equal(grpc['transport_socket_matches'], undefined, 'proxyless clients get no SDS');
      });
    }
  });

  describe('proxyless gRPC resources', () => {
    const require = createRequire(import.meta.url);
    const base = '@grpc/grpc-js-xds/build/src/xds-resource-type';
    interface ResourceType {
      decode(
        ctx: unknown,
        r: { type_url: string; value: Buffer },
      ): { name: string; error?: string };
    }
    // Its HTTP filter registry fills when the plugin registers, as a real client does.
    (require('@grpc/grpc-js-xds') as { register(): void }).register();
    const types: Record<string, ResourceType> = {
      [TypeUrl.Listener]: (
        require(`${base}/listener-resource-type.js`) as {
          ListenerResourceType: { get(): ResourceType };
        }
      ).ListenerResourceType.get(),
      [TypeUrl.RouteConfiguration]: (
        require(`${base}/route-config-resource-type.js`) as {
          RouteConfigurationResourceType: { get(): ResourceType };
        }
      ).RouteConfigurationResourceType.get(),
      [TypeUrl.Cluster]: (
        require(`${base}/cluster-resource-type.js`) as {
          ClusterResourceType: { get(): ResourceType };
        }
      ).ClusterResourceType.get(),
      [TypeUrl.ClusterLoadAssignment]: (
        require(`${base}/endpoint-resource-type.js`) as {
          EndpointResourceType: { get(): ResourceType };
        }
      ).EndpointResourceType.get(),
    };

    for (const policy of AuthPolicy) {
      it(`${policy}: @grpc/grpc-js-xds's own validation accepts every resource`, () => {
        const snap = snapshotFor(policy, 'grpc');
        for (const r of all(snap)) {
          const any = decodeMessage('google.protobuf.Any', r.any);
          const t = types[r.typeUrl];
          assert.ok(t);
          const out = t.decode(
            { bootstrap: { certificateProviders: {} } },
            { type_url: r.typeUrl, value: Buffer.from(any['value'] as Uint8Array) },
          );
          assert.equal(out.error, undefined, `${r.name}: ${out.error ?? ''}`);
        }
      });
    }

    it('names listeners after the xds:/// target and routes them to the service cluster', () => {
      const snap = snapshotFor('NONE', 'grpc');
      const name = `${reviews}:9080`;
      const l = json(snap, TypeUrl.Listener, name);
      assert.equal(at(l, 'api_listener', 'api_listener', 'rds', 'route_config_name'), name);
      const rc = json(snap, TypeUrl.RouteConfiguration, name);
      assert.equal(at(rc, 'virtual_hosts', 0, 'routes', 0, 'route', 'cluster'), reviewsCluster);
      const kafka = json(snap, TypeUrl.Cluster, 'outbound|9092||kafka.shop.svc.cluster.local');
      assert.equal(
        kafka['type'],
        'EDS',
        'headless services are balanced by EDS for proxyless clients',
      );
    });
  });
});

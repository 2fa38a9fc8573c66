/**
 * Kubernetes Ingresses of class istio to the ingress gateway's listeners and routes: hosts,
 * path types, the default backend, TLS by SNI with the certificate over SDS; only the ingress
 * gateway gets them.
 */
import assert from 'node:assert/strict';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Proxy } from '../model/proxy.ts';
import type { ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import {
  allResources,
  assertEnvoyAccepts,
  at,
  resourceJson,
  type Json,
} from '../testing/resource-checks.ts';
import { reviewsRule } from '../testing/route-rows.ts';
import { host, ingress, trafficProxies, trafficSnapshot } from '../testing/traffic-fixture.ts';

const gateway = trafficProxies['ingress'] as Proxy;
const reviews = `outbound|9080||${host('reviews')}`;
const ratings = `outbound|9080||${host('ratings')}`;
const productpage = `outbound|9080||${host('productpage')}`;

function snap(objects: readonly object[], proxy = gateway): ProxySnapshot {
  const s = trafficSnapshot(objects, proxy);
  for (const r of allResources(s)) assertEnvoyAccepts(r);
  return s;
}

const backend = (name: string, port: number | string) => ({
  service: { name, port: typeof port === 'number' ? { number: port } : { name: port } },
});

const shop = ingress('shop', {
  rules: [
    {
      host: 'shop.example.com',
      http: {
        paths: [
          { path: '/api', pathType: 'Prefix', backend: backend('reviews', 9080) },
          { path: '/api/ratings', pathType: 'Prefix', backend: backend('ratings', 'http') },
          { path: '/login', pathType: 'Exact', backend: backend('productpage', 9080) },
          {
            path: '/static/.*',
            pathType: 'ImplementationSpecific',
            backend: backend('productpage', 9080),
          },
        ],
      },
    },
  ],
  defaultBackend: backend('productpage', 9080),
  tls: [{ hosts: ['shop.example.com'], secretName: 'shop-cert' }],
});

describe('Ingress to the ingress gateway', () => {
  it('serves HTTP on the ingress service target port, hosts matched without their port', () => {
    const s = snap([shop]);
    const l = resourceJson(s, TypeUrl.Listener, 'ingress_8080');
    assert.equal(at(l, 'address', 'socket_address', 'port_value'), 8080);
    const hcm = at(l, 'filter_chains', 0, 'filters', 0, 'typed_config') as Json;
    assert.equal(at(hcm, 'rds', 'route_config_name'), 'ingress');
    assert.equal(hcm['strip_any_host_port'], true);
  });

  it('routes paths by type: exact first, then longer prefixes, whole segments for Prefix', () => {
    const rc = resourceJson(snap([shop]), TypeUrl.RouteConfiguration, 'ingress');
    const vh = (rc['virtual_hosts'] as Json[])[0];
    assert.ok(vh);
    assert.deepEqual(vh['domains'], ['shop.example.com']);
    const routes = vh['routes'] as Json[];
    assert.deepEqual(
      routes.map((r) => [r['match'], at(r, 'route', 'cluster')]),
      [
        [{ path: '/login' }, productpage],
        [{ path_separated_prefix: '/api/ratings' }, ratings],
        [{ prefix: '/static/' }, productpage],
        [{ path_separated_prefix: '/api' }, reviews],
        [{ prefix: '/' }, productpage],
      ],
    );
  });

  it('sends everything else to the default backend', () => {
    const rc = resourceJson(snap([shop]), TypeUrl.RouteConfiguration, 'ingress');
    const any = (rc['virtual_hosts'] as Json[]).find((h) => h['name'] === '*');
    assert.deepEqual(any?.['domains'], ['*']);
    assert.equal(at(any, 'routes', 0, 'route', 'cluster'), productpage);
  });

  it('terminates TLS on the HTTPS port by SNI, the certificate from the named Secret over SDS', () => {
    const l = resourceJson(snap([shop]), TypeUrl.Listener, 'ingress_8443');
    assert.deepEqual(
      (l['listener_filters'] as Json[]).map((f) => f['name']),
      ['envoy.filters.listener.tls_inspector'],
    );
    const c = at(l, 'filter_chains', 0) as Json;
    assert.deepEqual(c['filter_chain_match'], { server_names: ['shop.example.com'] });
    const tls = at(c, 'transport_socket', 'typed_config', 'common_tls_context') as Json;
    assert.equal(
      at(tls, 'tls_certificate_sds_secret_configs', 0, 'name'),
      'kubernetes://shop/shop-cert',
    );
    assert.equal(
      at(
        tls,
        'tls_certificate_sds_secret_configs',
        0,
        'sds_config',
        'api_config_source',
        'grpc_services',
        0,
        'envoy_grpc',
        'cluster_name',
      ),
      'sds-grpc',
    );
  });

  it('no TLS listener when no Ingress has TLS', () => {
    const plain = ingress('plain', {
      rules: [
        { http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('reviews', 9080) }] } },
      ],
    });
    const s = snap([plain]);
    assert.ok(resourceJson(s, TypeUrl.Listener, 'ingress_8080'));
    assert.equal(s.resources.get(TypeUrl.Listener)?.get('ingress_8443'), undefined);
    const rc = resourceJson(s, TypeUrl.RouteConfiguration, 'ingress');
    assert.deepEqual(at(rc, 'virtual_hosts', 0, 'domains'), ['*']);
  });

  it('an Ingress whose backend does not exist is left out (and reported)', () => {
    const broken = ingress('broken', {
      rules: [
        { http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('nope', 80) }] } },
      ],
    });
    const s = snap([broken]);
    assert.equal(s.resources.get(TypeUrl.Listener)?.size, 0);
  });

  it('sidecars and the egress gateway get none of it', () => {
    for (const p of [trafficProxies['productpage'], trafficProxies['egress']] as Proxy[]) {
      const s = snap([shop], p);
      assert.equal(s.resources.get(TypeUrl.RouteConfiguration)?.get('ingress'), undefined);
    }
  });

  describe('RouteRules of a backend apply to traffic entering through the Ingress', () => {
    const api = ingress('api', {
      rules: [
        {
          host: 'api.example.com',
          http: {
            paths: [{ path: '/api', pathType: 'Prefix', backend: backend('reviews', 9080) }],
          },
        },
      ],
    });
    const routes = (objects: readonly object[]): Json[] => {
      const rc = resourceJson(snap([api, ...objects]), TypeUrl.RouteConfiguration, 'ingress');
      return ((rc['virtual_hosts'] as Json[])[0]?.['routes'] ?? []) as Json[];
    };

    it('weighted subsets, narrowed to the Ingress path, before the path route', () => {
      const r = routes([
        reviewsRule('split', {
          route: [
            { labels: { version: 'v1' }, weight: 80 },
            { labels: { version: 'v2' }, weight: 20 },
          ],
        }),
      ]);
      assert.equal(r.length, 2);
      assert.deepEqual(r[0]?.['match'], { path_separated_prefix: '/api' });
      assert.deepEqual(
        (at(r, 0, 'route', 'weighted_clusters', 'clusters') as Json[]).map((c) => [
          c['name'],
          at(c, 'weight', 'value'),
        ]),
        [
          [`outbound|9080|version=v1|${host('reviews')}`, 80],
          [`outbound|9080|version=v2|${host('reviews')}`, 20],
        ],
      );
      assert.equal(at(r, 1, 'route', 'cluster'), reviews, 'then the Ingress path route');
      const clusters = snap([
        api,
        reviewsRule('split', { route: [{ labels: { version: 'v1' } }] }),
      ]).resources.get(TypeUrl.Cluster);
      assert.ok(
        clusters?.has(`outbound|9080|version=v1|${host('reviews')}`),
        'the gateway has the subset',
      );
    });

    it("a header and uri match: the rule's uri becomes a :path header under the Ingress path", () => {
      const r = routes([
        reviewsRule('jason', {
          precedence: 2,
          match: {
            request: {
              headers: {
                cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' },
                uri: { exact: '/api/v2' },
              },
            },
          },
          route: [{ labels: { version: 'v2' } }],
        }),
      ]);
      const match = r[0]?.['match'] as Json;
      assert.equal(match['path_separated_prefix'], '/api');
      const headers = match['headers'] as Json[];
      assert.deepEqual(
        headers.map((h) => h['name']),
        ['cookie', ':path'],
      );
      assert.equal(at(headers[1], 'string_match', 'safe_regex', 'regex'), '^/api/v2(\\?.*)?$');
      assert.equal(at(r, 0, 'route', 'cluster'), `outbound|9080|version=v2|${host('reviews')}`);
    });

    it('faults work there too; rules for a source workload do not', () => {
      const r = routes([
        reviewsRule('delay', {
          precedence: 3,
          httpFault: { delay: { percent: 100, fixedDelay: '2s' } },
          route: [{ labels: { version: 'v1' } }],
        }),
        reviewsRule('from-productpage', {
          precedence: 5,
          match: { source: { name: 'productpage' } },
          route: [{ labels: { version: 'v3' } }],
        }),
      ]);
      assert.equal(r.length, 2, JSON.stringify(r.map((x) => x['name'])));
      assert.ok(at(r, 0, 'typed_per_filter_config'), 'the delay rides on the rule route');
      const l = resourceJson(snap([api]), TypeUrl.Listener, 'ingress_8080');
      const filters = at(
        l,
        'filter_chains',
        0,
        'filters',
        0,
        'typed_config',
        'http_filters',
      ) as Json[];
      assert.deepEqual(
        filters.map((f) => f['name']),
        ['envoy.filters.http.fault', 'envoy.filters.http.ext_authz', 'envoy.filters.http.router'],
      );
    });
  });
});

/**
 * RouteRule fields to the Envoy routes they produce, for sidecars and for proxyless gRPC clients,
 * one table row per field; every resource of every row must pass Envoy's protos and rules, and
 * proxyless ones @grpc/grpc-js-xds's validation.
 */
import assert from 'node:assert/strict';
import type { Proxy } from '../model/proxy.ts';
import { at } from '../testing/resource-checks.ts';
import { reviewsRule, routesOf, type RouteRow } from '../testing/route-rows.ts';
import { host, trafficProxies } from '../testing/traffic-fixture.ts';

const reviews = host('reviews');
const v1 = `outbound|9080|version=v1|${reviews}`;
const v2 = `outbound|9080|version=v2|${reviews}`;
const all = `outbound|9080||${reviews}`;
const routes = (objects: readonly object[], proxy: Proxy) =>
  routesOf(objects, proxy, reviews, 9080);
const rule = reviewsRule;

type Row = RouteRow;

const sidecar = trafficProxies['productpage'] as Proxy;
const grpc = trafficProxies['grpc'] as Proxy;

const rows: Row[] = [
  {
    name: 'no rule: one default route to the whole service',
    config: [],
    want: (r) => {
      assert.equal(r.length, 1);
      assert.equal(at(r, 0, 'route', 'cluster'), all);
    },
  },
  {
    name: 'route[].labels: one version gets a subset cluster',
    config: [rule('to-v1', { route: [{ labels: { version: 'v1' } }] })],
    want: (r) => {
      assert.equal(at(r, 0, 'name'), 'RouteRule/shop/to-v1');
      assert.equal(at(r, 0, 'route', 'cluster'), v1);
      assert.deepEqual(at(r, 0, 'match'), { prefix: '/' });
      assert.equal(at(r, 1, 'route', 'cluster'), all, 'default route last');
    },
  },
  {
    name: 'route[].weight: weighted clusters',
    config: [
      rule('split', {
        route: [
          { labels: { version: 'v1' }, weight: 80 },
          { labels: { version: 'v2' }, weight: 20 },
        ],
      }),
    ],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'route', 'weighted_clusters', 'clusters'), [
        { name: v1, weight: { value: 80 } },
        { name: v2, weight: { value: 20 } },
      ]);
    },
  },
  {
    name: 'route[].weight 0: the share is left out',
    config: [
      rule('all-v2', {
        route: [
          { labels: { version: 'v1' }, weight: 0 },
          { labels: { version: 'v2' }, weight: 100 },
        ],
      }),
    ],
    want: (r) => {
      assert.equal(at(r, 0, 'route', 'cluster'), v2);
    },
  },
  {
    name: 'route[].destination: a share to another service (its same port)',
    config: [rule('to-ratings', { route: [{ destination: { name: 'ratings' }, weight: 100 }] })],
    want: (r) => {
      assert.equal(at(r, 0, 'route', 'cluster'), `outbound|9080||${host('ratings')}`);
    },
  },
  {
    name: 'precedence: higher first, then by name',
    config: [
      rule('b-low', { precedence: 1, route: [{ labels: { version: 'v1' } }] }),
      rule('z-high', { precedence: 5, route: [{ labels: { version: 'v2' } }] }),
      rule('a-low', { precedence: 1, route: [{ labels: { version: 'v3' } }] }),
    ],
    want: (r) => {
      assert.deepEqual(
        r.map((x) => x['name']),
        ['RouteRule/shop/z-high', 'RouteRule/shop/a-low', 'RouteRule/shop/b-low', 'default'],
      );
    },
  },
  {
    name: 'match uri exact, prefix and regex; other headers by name',
    config: [
      rule('exact', {
        precedence: 3,
        match: { request: { headers: { uri: { exact: '/login' } } } },
        route: [{ labels: { version: 'v1' } }],
      }),
      rule('prefix', {
        precedence: 2,
        match: {
          request: {
            headers: { uri: { prefix: '/api/' }, cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } },
          },
        },
        route: [{ labels: { version: 'v2' } }],
      }),
      rule('regex', {
        precedence: 1,
        match: {
          request: { headers: { uri: { regex: '/v[0-9]+/.*' }, 'x-user': { prefix: 'qa-' } } },
        },
        route: [{ labels: { version: 'v3' } }],
      }),
    ],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'match'), { path: '/login' });
      assert.deepEqual(at(r, 1, 'match'), {
        prefix: '/api/',
        headers: [
          {
            name: 'cookie',
            string_match: { safe_regex: { regex: '^(.*?;)?(user=jason)(;.*)?$' } },
          },
        ],
      });
      assert.deepEqual(at(r, 2, 'match'), {
        safe_regex: { regex: '/v[0-9]+/.*' },
        headers: [{ name: 'x-user', string_match: { prefix: 'qa-' } }],
      });
    },
  },
  {
    name: 'match scheme, method, authority: the pseudo-headers',
    config: [
      rule('pseudo', {
        match: {
          request: {
            headers: {
              scheme: { exact: 'https' },
              method: { exact: 'GET' },
              authority: { prefix: 'reviews' },
            },
          },
        },
        route: [{ labels: { version: 'v2' } }],
      }),
    ],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'match', 'headers'), [
        { name: ':authority', string_match: { prefix: 'reviews' } },
        { name: ':method', string_match: { exact: 'GET' } },
        { name: ':scheme', string_match: { exact: 'https' } },
      ]);
    },
  },
  {
    name: 'match.source: applies to calls from productpage',
    config: [
      rule('from-pp', {
        match: { source: { name: 'productpage', labels: { version: 'v1' } } },
        route: [{ labels: { version: 'v2' } }],
      }),
    ],
    want: (r) => {
      assert.equal(at(r, 0, 'route', 'cluster'), v2);
    },
  },
  {
    name: 'match.source: not to calls from reviews itself',
    config: [
      rule('from-pp', {
        match: { source: { name: 'productpage' } },
        route: [{ labels: { version: 'v2' } }],
      }),
    ],
    proxy: trafficProxies['reviews'],
    want: (r) => {
      assert.equal(r.length, 1);
      assert.equal(at(r, 0, 'route', 'cluster'), all);
    },
  },
  {
    name: 'redirect: a 302 with path and host swapped',
    config: [
      rule('moved', {
        match: { request: { headers: { uri: { exact: '/v1/getProductRatings' } } } },
        redirect: { uri: '/v1/bookRatings', authority: 'bookratings.shop.svc.cluster.local' },
      }),
    ],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'redirect'), {
        path_redirect: '/v1/bookRatings',
        host_redirect: 'bookratings.shop.svc.cluster.local',
        response_code: 'FOUND',
      });
      assert.equal(at(r, 0, 'route'), undefined);
    },
  },
  {
    name: 'rewrite: prefix and host',
    config: [
      rule('rw', {
        match: { request: { headers: { uri: { prefix: '/ratings' } } } },
        rewrite: { uri: '/v1/bookRatings', authority: 'ratings.internal' },
        route: [{ labels: { version: 'v1' } }],
      }),
    ],
    want: (r) => {
      assert.equal(at(r, 0, 'route', 'prefix_rewrite'), '/v1/bookRatings');
      assert.equal(at(r, 0, 'route', 'host_rewrite_literal'), 'ratings.internal');
    },
  },
  {
    name: 'rewrite after a regex match: the whole path',
    config: [
      rule('rw', {
        match: { request: { headers: { uri: { regex: '/old/.*' } } } },
        rewrite: { uri: '/new' },
      }),
    ],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'route', 'regex_rewrite'), {
        pattern: { regex: '^.*$' },
        substitution: '/new',
      });
    },
  },
  {
    name: 'websocketUpgrade: upgrades enabled on the route, no timeout',
    config: [rule('ws', { websocketUpgrade: true, route: [{ labels: { version: 'v1' } }] })],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'route', 'upgrade_configs'), [
        { upgrade_type: 'websocket', enabled: { value: true } },
      ]);
      assert.deepEqual(at(r, 0, 'route', 'timeout'), { seconds: '0', nanos: 0 });
    },
  },
  {
    name: 'httpReqTimeout: the route timeout',
    config: [rule('t', { httpReqTimeout: { simpleTimeout: { timeout: '1.5s' } } })],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'route', 'timeout'), { seconds: '1', nanos: 500_000_000 });
      assert.equal(at(r, 0, 'route', 'cluster'), all, 'a rule with no route keeps the default');
    },
  },
  {
    name: 'httpReqRetries: retry policy with per-try timeout',
    config: [rule('r', { httpReqRetries: { simpleRetry: { attempts: 3, perTryTimeout: '2s' } } })],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'route', 'retry_policy'), {
        retry_on: '5xx,connect-failure,refused-stream,unavailable,cancelled,resource-exhausted',
        num_retries: { value: 3 },
        per_try_timeout: { seconds: '2', nanos: 0 },
      });
    },
  },
  {
    name: 'httpFault: delay and abort with percentages, as per-route fault config',
    config: [
      rule('f', {
        httpFault: {
          delay: { percent: 10, fixedDelay: '5s' },
          abort: { percent: 50, httpStatus: 503 },
        },
        route: [{ labels: { version: 'v1' } }],
      }),
    ],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'typed_per_filter_config', 'envoy.filters.http.fault'), {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
        delay: {
          fixed_delay: { seconds: '5', nanos: 0 },
          percentage: { numerator: 100000, denominator: 'MILLION' },
        },
        abort: { http_status: 503, percentage: { numerator: 500000, denominator: 'MILLION' } },
      });
    },
  },
];

describe('RouteRule fields to Envoy routes', () => {
  describe('sidecars', () => {
    for (const row of rows) {
      it(row.name, () => {
        row.want(routes(row.config, row.proxy ?? sidecar));
      });
    }
  });

  describe('proxyless gRPC', () => {
    it('every sidecar row also yields resources a proxyless client accepts', () => {
      for (const row of rows) routes(row.config, grpc);
    });
  });
});

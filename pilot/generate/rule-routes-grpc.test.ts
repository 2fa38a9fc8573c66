/**
 * RouteRule fields to the routes proxyless gRPC clients get: what @grpc/grpc-js-xds accepts
 * (weighted clusters, header matches on metadata, max_stream_duration, gRPC retry codes, faults;
 * no redirects), with `match.source` by the client's LABELS metadata.
 */
import assert from 'node:assert/strict';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Proxy } from '../model/proxy.ts';
import { at, grpcDecoded, grpcResourceType } from '../testing/resource-checks.ts';
import { reviewsRule as rule, routesOf, type RouteRow as Row } from '../testing/route-rows.ts';
import { host, trafficProxies, trafficSnapshot } from '../testing/traffic-fixture.ts';

const grpc = trafficProxies['grpc'] as Proxy;

const rows: Row[] = [
  {
    name: 'proxyless: weighted clusters as for sidecars',
    config: [
      rule('split', {
        destination: { name: 'echo' },
        route: [
          { labels: { version: 'v1' }, weight: 80 },
          { labels: { version: 'v2' }, weight: 20 },
        ],
      }),
    ],
    want: (r) => {
      const echo = host('echo');
      assert.deepEqual(at(r, 0, 'route', 'weighted_clusters', 'clusters'), [
        { name: `outbound|50051|version=v1|${echo}`, weight: { value: 80 } },
        { name: `outbound|50051|version=v2|${echo}`, weight: { value: 20 } },
      ]);
      assert.deepEqual(at(r, 0, 'match'), { prefix: '' });
    },
  },
  {
    name: 'proxyless: header match on gRPC metadata',
    config: [
      rule('hdr', {
        destination: { name: 'echo' },
        match: { request: { headers: { 'x-user': { exact: 'jason' } } } },
        route: [{ labels: { version: 'v2' } }],
      }),
    ],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'match'), {
        prefix: '',
        headers: [{ name: 'x-user', string_match: { exact: 'jason' } }],
      });
    },
  },
  {
    name: 'proxyless: timeout as max_stream_duration, retries on gRPC codes, faults',
    config: [
      rule('policy', {
        destination: { name: 'echo' },
        httpReqTimeout: { simpleTimeout: { timeout: '100ms' } },
        httpReqRetries: { simpleRetry: { attempts: 2 } },
        httpFault: { abort: { percent: 50, httpStatus: 503 } },
      }),
    ],
    want: (r) => {
      assert.deepEqual(at(r, 0, 'route', 'max_stream_duration'), {
        max_stream_duration: { seconds: '0', nanos: 100_000_000 },
      });
      assert.equal(at(r, 0, 'route', 'timeout'), undefined);
      assert.deepEqual(at(r, 0, 'route', 'retry_policy'), {
        retry_on: 'unavailable,cancelled,resource-exhausted',
        num_retries: { value: 2 },
      });
      assert.ok(at(r, 0, 'typed_per_filter_config', 'envoy.filters.http.fault', 'abort'));
    },
  },
  {
    name: 'proxyless: a redirect rule is left out (gRPC NACKs redirects)',
    config: [rule('moved', { destination: { name: 'echo' }, redirect: { uri: '/x' } })],
    want: (r) => {
      assert.deepEqual(
        r.map((x) => x['name']),
        ['default'],
      );
    },
  },
  {
    name: "proxyless: match.source by the client's LABELS metadata",
    config: [
      rule('from-pp', {
        destination: { name: 'echo' },
        match: { source: { labels: { app: 'productpage' } } },
        route: [{ labels: { version: 'v2' } }],
      }),
    ],
    want: (r) => {
      assert.equal(at(r, 0, 'route', 'cluster'), `outbound|50051|version=v2|${host('echo')}`);
    },
  },
  {
    name: 'proxyless: match.source not matching another client',
    config: [
      rule('from-pp', {
        destination: { name: 'echo' },
        match: { source: { labels: { app: 'productpage' } } },
        route: [{ labels: { version: 'v2' } }],
      }),
    ],
    proxy: trafficProxies['grpcOther'],
    want: (r) => {
      assert.equal(r.length, 1);
    },
  },
];

/** Whether @grpc/grpc-js-xds takes the route configuration after the change as an update. */
function grpcSees(before: readonly object[], after: readonly object[]): boolean {
  const name = `${host('echo')}:50051`;
  const decoded = (objects: readonly object[]) => {
    const r = trafficSnapshot(objects, grpc).resources.get(TypeUrl.RouteConfiguration)?.get(name);
    assert.ok(r);
    return grpcDecoded(r);
  };
  const t = grpcResourceType(TypeUrl.RouteConfiguration);
  return !t.resourcesEqual(decoded(before), decoded(after));
}

describe('RouteRule fields to proxyless gRPC routes', () => {
  it('adding a fault to a route is a change @grpc/grpc-js-xds notices', () => {
    const plain = rule('f', {
      destination: { name: 'echo' },
      route: [{ labels: { version: 'v1' } }],
    });
    const faulty = (percent: number) =>
      rule('f', {
        destination: { name: 'echo' },
        route: [{ labels: { version: 'v1' } }],
        httpFault: { abort: { percent, httpStatus: 503 } },
      });
    assert.ok(grpcSees([plain], [faulty(50)]), 'fault added');
    assert.ok(grpcSees([faulty(50)], [faulty(10)]), 'fault changed');
    assert.ok(grpcSees([faulty(50)], [plain]), 'fault removed');
  });

  it('rules route HTTP ports only: a TCP port of the destination keeps its default route', () => {
    const config = [
      rule('to-reviews', {
        destination: { name: 'details' },
        route: [{ destination: { name: 'reviews' }, weight: 100 }],
      }),
    ];
    const http = routesOf(config, grpc, host('details'), 9080);
    assert.equal(at(http, 0, 'route', 'cluster'), `outbound|9080||${host('reviews')}`);
    const tcp = routesOf(config, grpc, host('details'), 9999);
    assert.deepEqual(
      tcp.map((r) => at(r, 'route', 'cluster')),
      [`outbound|9999||${host('details')}`],
    );
  });

  for (const row of rows) {
    it(row.name, () => {
      row.want(routesOf(row.config, row.proxy ?? grpc, host('echo'), 50051));
    });
  }
});

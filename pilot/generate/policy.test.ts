/**
 * DestinationPolicy fields to the clusters they produce, for sidecars (the full Envoy set) and
 * proxyless gRPC clients (what @grpc/grpc-js-xds accepts); every resource of every row passes the
 * clients' checks.
 */
import assert from 'node:assert/strict';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Proxy } from '../model/proxy.ts';
import {
  allResources,
  assertEnvoyAccepts,
  assertGrpcAccepts,
  at,
  resourceJson,
  type Json,
} from '../testing/resource-checks.ts';
import { crd, host, trafficProxies, trafficSnapshot } from '../testing/traffic-fixture.ts';

const reviews = host('reviews');
const all = `outbound|9080||${reviews}`;
const v1 = `outbound|9080|version=v1|${reviews}`;
const v2 = `outbound|9080|version=v2|${reviews}`;
const sidecar = trafficProxies['productpage'] as Proxy;
const grpc = trafficProxies['grpc'] as Proxy;

const toVersions = crd('RouteRule', 'split', {
  destination: { name: 'reviews' },
  route: [
    { labels: { version: 'v1' }, weight: 50 },
    { labels: { version: 'v2' }, weight: 50 },
  ],
});

const policy = (name: string, spec: object) =>
  crd('DestinationPolicy', name, { destination: { name: 'reviews' }, ...spec });

function cluster(objects: readonly object[], proxy: Proxy, name: string): Json {
  const snap = trafficSnapshot(objects, proxy);
  for (const r of allResources(snap)) {
    assertEnvoyAccepts(r);
    if (proxy.kind === 'grpc') assertGrpcAccepts(r);
  }
  return resourceJson(snap, TypeUrl.Cluster, name);
}

interface Row {
  readonly name: string;
  readonly config: readonly object[];
  readonly proxy?: Proxy | undefined;
  readonly cluster: string;
  readonly want: (c: Json) => void;
}

const defaults = {
  thresholds: [
    {
      priority: 'DEFAULT',
      max_pending_requests: { value: 1024 },
      max_requests: { value: 1024 },
      max_retries: { value: 3 },
    },
  ],
};

const rows: Row[] = [
  {
    name: 'loadBalancing LEAST_CONN: least request',
    config: [policy('lb', { loadBalancing: { name: 'LEAST_CONN' } })],
    cluster: all,
    want: (c) => {
      assert.equal(c['lb_policy'], 'LEAST_REQUEST');
    },
  },
  {
    name: 'loadBalancing RANDOM: random',
    config: [policy('lb', { loadBalancing: { name: 'RANDOM' } })],
    cluster: all,
    want: (c) => {
      assert.equal(c['lb_policy'], 'RANDOM');
    },
  },
  {
    name: 'simpleCb with no fields: 0.2 defaults in thresholds and outlier detection',
    config: [policy('cb', { circuitBreaker: { simpleCb: {} } })],
    cluster: all,
    want: (c) => {
      assert.deepEqual(c['circuit_breakers'], defaults);
      assert.deepEqual(c['outlier_detection'], {
        consecutive_5xx: { value: 5 },
        interval: { seconds: '10', nanos: 0 },
        base_ejection_time: { seconds: '30', nanos: 0 },
        max_ejection_percent: { value: 10 },
        enforcing_consecutive_5xx: { value: 100 },
        enforcing_success_rate: { value: 0 },
      });
    },
  },
  {
    name: 'simpleCb fields: connections, requests, ejection, requests per connection',
    config: [
      policy('cb', {
        circuitBreaker: {
          simpleCb: {
            maxConnections: 100,
            httpMaxPendingRequests: 10,
            httpMaxRequests: 1000,
            httpMaxRetries: 1,
            sleepWindow: '15m',
            httpConsecutiveErrors: 7,
            httpDetectionInterval: '5m',
            httpMaxRequestsPerConnection: 10,
            httpMaxEjectionPercent: 50,
          },
        },
      }),
    ],
    cluster: all,
    want: (c) => {
      assert.deepEqual(at(c, 'circuit_breakers', 'thresholds', 0), {
        priority: 'DEFAULT',
        max_connections: { value: 100 },
        max_pending_requests: { value: 10 },
        max_requests: { value: 1000 },
        max_retries: { value: 1 },
      });
      assert.deepEqual(at(c, 'outlier_detection', 'consecutive_5xx'), { value: 7 });
      assert.deepEqual(at(c, 'outlier_detection', 'interval'), { seconds: '300', nanos: 0 });
      assert.deepEqual(at(c, 'outlier_detection', 'base_ejection_time'), {
        seconds: '900',
        nanos: 0,
      });
      assert.deepEqual(at(c, 'outlier_detection', 'max_ejection_percent'), { value: 50 });
      const opts = at(
        c,
        'typed_extension_protocol_options',
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      );
      assert.deepEqual(at(opts, 'common_http_protocol_options'), {
        max_requests_per_connection: { value: 10 },
      });
      assert.deepEqual(at(opts, 'explicit_http_config'), { http_protocol_options: {} });
    },
  },
  {
    name: 'destination labels: only that version gets the policy',
    config: [
      toVersions,
      policy('v1-only', {
        destination: { name: 'reviews', labels: { version: 'v1' } },
        loadBalancing: { name: 'RANDOM' },
      }),
    ],
    cluster: v1,
    want: (c) => {
      assert.equal(c['lb_policy'], 'RANDOM');
    },
  },
  {
    name: 'destination labels: other versions and the whole service keep round robin',
    config: [
      toVersions,
      policy('v1-only', {
        destination: { name: 'reviews', labels: { version: 'v1' } },
        loadBalancing: { name: 'RANDOM' },
      }),
    ],
    cluster: v2,
    want: (c) => {
      assert.equal(c['lb_policy'], 'ROUND_ROBIN');
    },
  },
  {
    name: 'a policy for the whole service reaches its versions too',
    config: [toVersions, policy('all', { loadBalancing: { name: 'LEAST_CONN' } })],
    cluster: v2,
    want: (c) => {
      assert.equal(c['lb_policy'], 'LEAST_REQUEST');
    },
  },
  {
    name: 'source: applies to calls from productpage',
    config: [
      policy('from-pp', { source: { name: 'productpage' }, loadBalancing: { name: 'RANDOM' } }),
    ],
    cluster: all,
    want: (c) => {
      assert.equal(c['lb_policy'], 'RANDOM');
    },
  },
  {
    name: 'source: a source policy beats one for every caller',
    config: [
      policy('a-all', { loadBalancing: { name: 'LEAST_CONN' } }),
      policy('from-pp', { source: { name: 'productpage' }, loadBalancing: { name: 'RANDOM' } }),
    ],
    cluster: all,
    want: (c) => {
      assert.equal(c['lb_policy'], 'RANDOM');
    },
  },
  {
    name: 'source: not applied to calls from reviews',
    config: [
      policy('from-pp', { source: { name: 'productpage' }, loadBalancing: { name: 'RANDOM' } }),
    ],
    proxy: trafficProxies['reviews'],
    cluster: all,
    want: (c) => {
      assert.equal(c['lb_policy'], 'ROUND_ROBIN');
    },
  },
  {
    name: 'proxyless: round robin whatever the policy, request limit kept',
    config: [
      policy('both', {
        loadBalancing: { name: 'LEAST_CONN' },
        circuitBreaker: { simpleCb: { httpMaxRequests: 7 } },
      }),
    ],
    proxy: grpc,
    cluster: all,
    want: (c) => {
      assert.equal(c['lb_policy'], 'ROUND_ROBIN');
      assert.deepEqual(c['circuit_breakers'], {
        thresholds: [{ priority: 'DEFAULT', max_requests: { value: 7 } }],
      });
      assert.equal(c['outlier_detection'], undefined);
    },
  },
];

describe('DestinationPolicy fields to Envoy clusters', () => {
  for (const row of rows) {
    it(row.name, () => {
      row.want(cluster(row.config, row.proxy ?? sidecar, row.cluster));
    });
  }

  it('every row also yields clusters a proxyless client accepts', () => {
    for (const row of rows) cluster(row.config, grpc, all);
  });
});

/**
 * The chart's RouteRule, DestinationPolicy and EgressRule CRDs in a real API server: malformed
 * objects are refused with a message naming the field; valid ones (0.2's documented examples)
 * are accepted; `kubectl get` columns are declared.
 */
import assert from 'node:assert/strict';
import { ApiextensionsV1Api, ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import { useLocalCluster } from './local-cluster.ts';
import { ensurePilotCrds } from './pilot-crds.ts';

type Kind = 'RouteRule' | 'DestinationPolicy' | 'EgressRule';
const plurals: Readonly<Record<Kind, string>> = {
  RouteRule: 'routerules',
  DestinationPolicy: 'destinationpolicies',
  EgressRule: 'egressrules',
};

interface Row {
  readonly name: string;
  readonly kind: Kind;
  readonly spec: object;
  /** Undefined: accepted. Otherwise what the API server's message must contain. */
  readonly refused?: readonly string[];
}

const rules: Row[] = [
  {
    name: 'a weight over 100',
    kind: 'RouteRule',
    spec: { destination: { name: 'reviews' }, route: [{ labels: { version: 'v1' }, weight: 120 }] },
    refused: ['spec.route[0].weight', 'less than or equal to 100'],
  },
  {
    name: 'route and redirect together',
    kind: 'RouteRule',
    spec: {
      destination: { name: 'reviews' },
      route: [{ labels: { version: 'v1' } }],
      redirect: { uri: '/v2' },
    },
    refused: ['spec.redirect', 'route and redirect exclude each other'],
  },
  {
    name: 'rewrite with redirect',
    kind: 'RouteRule',
    spec: { destination: { name: 'reviews' }, redirect: { uri: '/a' }, rewrite: { uri: '/b' } },
    refused: ['spec.rewrite', 'rewrite cannot be used with redirect'],
  },
  {
    name: 'no destination',
    kind: 'RouteRule',
    spec: { route: [{ labels: { version: 'v1' } }] },
    refused: ['spec.destination', 'Required value'],
  },
  {
    name: 'labels on the destination',
    kind: 'RouteRule',
    spec: { destination: { name: 'reviews', labels: { version: 'v1' } } },
    refused: ['spec.destination.labels', 'route[].labels'],
  },
  {
    name: 'an uppercase header name',
    kind: 'RouteRule',
    spec: {
      destination: { name: 'reviews' },
      match: { request: { headers: { Cookie: { exact: 'user=jason' } } } },
    },
    refused: ['spec.match.request.headers', 'lowercase'],
  },
  {
    name: 'a header with two match kinds',
    kind: 'RouteRule',
    spec: {
      destination: { name: 'reviews' },
      match: { request: { headers: { cookie: { exact: 'a', prefix: 'b' } } } },
    },
    refused: ['spec.match.request.headers.cookie'],
  },
  {
    name: 'a timeout that is not a duration',
    kind: 'RouteRule',
    spec: {
      destination: { name: 'reviews' },
      httpReqTimeout: { simpleTimeout: { timeout: '10 s' } },
    },
    refused: ['spec.httpReqTimeout.simpleTimeout.timeout'],
  },
  {
    name: 'a fault percentage over 100',
    kind: 'RouteRule',
    spec: {
      destination: { name: 'reviews' },
      httpFault: { abort: { percent: 150, httpStatus: 503 } },
    },
    refused: ['spec.httpFault.abort.percent'],
  },
  {
    name: 'an abort status out of range',
    kind: 'RouteRule',
    spec: { destination: { name: 'reviews' }, httpFault: { abort: { httpStatus: 99 } } },
    refused: ['spec.httpFault.abort.httpStatus'],
  },
  {
    name: 'an empty fault',
    kind: 'RouteRule',
    spec: { destination: { name: 'reviews' }, httpFault: {} },
    refused: ['spec.httpFault', 'needs delay or abort'],
  },
  {
    name: 'a destination name that is not a DNS label',
    kind: 'RouteRule',
    spec: { destination: { name: 'Reviews_v1' } },
    refused: ['spec.destination.name'],
  },
  {
    name: "0.2's weighted example",
    kind: 'RouteRule',
    spec: {
      destination: { name: 'reviews' },
      precedence: 2,
      match: {
        source: { name: 'productpage', labels: { version: 'v1' } },
        request: {
          headers: { cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' }, uri: { prefix: '/api/' } },
        },
      },
      route: [
        { labels: { version: 'v2' }, weight: 25 },
        { labels: { version: 'v1' }, weight: 75 },
      ],
      httpReqTimeout: { simpleTimeout: { timeout: '10s' } },
      httpReqRetries: { simpleRetry: { attempts: 3, perTryTimeout: '2s' } },
      httpFault: {
        delay: { percent: 10, fixedDelay: '5s' },
        abort: { percent: 0.5, httpStatus: 400 },
      },
      websocketUpgrade: true,
    },
  },
  {
    name: 'an unknown load balancer',
    kind: 'DestinationPolicy',
    spec: { destination: { name: 'reviews' }, loadBalancing: { name: 'FASTEST' } },
    refused: ['spec.loadBalancing.name', 'ROUND_ROBIN'],
  },
  {
    name: 'a policy with nothing in it',
    kind: 'DestinationPolicy',
    spec: { destination: { name: 'reviews' } },
    refused: ['needs loadBalancing or circuitBreaker'],
  },
  {
    name: 'an ejection percentage over 100',
    kind: 'DestinationPolicy',
    spec: {
      destination: { name: 'reviews' },
      circuitBreaker: { simpleCb: { httpMaxEjectionPercent: 120 } },
    },
    refused: ['spec.circuitBreaker.simpleCb.httpMaxEjectionPercent'],
  },
  {
    name: 'zero connections',
    kind: 'DestinationPolicy',
    spec: { destination: { name: 'reviews' }, circuitBreaker: { simpleCb: { maxConnections: 0 } } },
    refused: ['spec.circuitBreaker.simpleCb.maxConnections'],
  },
  {
    name: "0.2's circuit breaker example",
    kind: 'DestinationPolicy',
    spec: {
      destination: { name: 'reviews', labels: { version: 'v1' } },
      source: { name: 'productpage' },
      loadBalancing: { name: 'RANDOM' },
      circuitBreaker: {
        simpleCb: {
          maxConnections: 100,
          httpMaxRequests: 1000,
          httpMaxRequestsPerConnection: 10,
          httpConsecutiveErrors: 7,
          sleepWindow: '15m',
          httpDetectionInterval: '5m',
        },
      },
    },
  },
  {
    name: 'a wildcard in the middle of a host',
    kind: 'EgressRule',
    spec: { destination: { service: 'foo*.com' }, ports: [{ port: 80, protocol: 'http' }] },
    refused: ['spec.destination.service'],
  },
  {
    name: 'a TCP port',
    kind: 'EgressRule',
    spec: { destination: { service: '*.foo.com' }, ports: [{ port: 80, protocol: 'TCP' }] },
    refused: ['spec.ports[0].protocol', 'HTTPS'],
  },
  {
    name: 'the same port twice',
    kind: 'EgressRule',
    spec: {
      destination: { service: '*.foo.com' },
      ports: [
        { port: 443, protocol: 'https' },
        { port: 443, protocol: 'http' },
      ],
    },
    refused: ['spec.ports', 'a port may appear once'],
  },
  {
    name: 'no ports',
    kind: 'EgressRule',
    spec: { destination: { service: 'api.foo.com' }, ports: [] },
    refused: ['spec.ports'],
  },
  {
    name: "0.2's egress example",
    kind: 'EgressRule',
    spec: {
      destination: { service: '*.foo.com' },
      ports: [
        { port: 80, protocol: 'http' },
        { port: 443, protocol: 'https' },
      ],
      useEgressProxy: false,
    },
  },
];

describe('pilot CRDs on a real API server', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'pilot-crds' });

  before(async () => {
    await ensurePilotCrds(env.kc);
  });

  rules.forEach((row, i) => {
    it(`${row.kind}: ${row.refused ? 'refuses' : 'accepts'} ${row.name}`, async () => {
      const create = env.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
        group: 'config.istio.io',
        version: 'v1alpha2',
        namespace: env.namespace,
        plural: plurals[row.kind],
        body: {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: row.kind,
          metadata: { name: `case-${i}` },
          spec: row.spec,
        },
      });
      if (row.refused === undefined) {
        await create;
        return;
      }
      const err: unknown = await create.then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ApiException, 'refused');
      assert.equal(err.code, 422);
      const message = String((JSON.parse(String(err.body)) as { message?: unknown }).message);
      for (const want of row.refused) assert.ok(message.includes(want), `"${want}" in: ${message}`);
    });
  });

  it('declares kubectl get columns, including whether Pilot applied the object', async () => {
    const ext = env.kc.makeApiClient(ApiextensionsV1Api);
    for (const plural of Object.values(plurals)) {
      const crd = await ext.readCustomResourceDefinition({ name: `${plural}.config.istio.io` });
      const v = crd.spec.versions[0];
      const cols = (v?.additionalPrinterColumns ?? []).map((c) => c.name);
      assert.ok(cols.includes('Applied') && cols.includes('Age'), `${plural}: ${cols.join(', ')}`);
      assert.ok(v?.subresources?.status, `${plural} has a status subresource`);
    }
  });
});

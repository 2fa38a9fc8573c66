/**
 * Config objects from the API server into typed config: names resolved to hostnames, defaults
 * filled in, and anything malformed (an object stored before the schema existed, or written
 * around it) refused with an error naming the field.
 */
import assert from 'node:assert/strict';
import type { V1Ingress } from '@kubernetes/client-node';
import { crd } from '../testing/traffic-fixture.ts';
import { isIngressOfClass, parseIngress } from './ingress.ts';
import { parseCrdObject } from './parse.ts';
import type { CrdKind } from './parse.ts';
import type { ConfigEntry } from './store.ts';

function parse(kind: CrdKind, spec: object): ConfigEntry {
  const out = parseCrdObject(kind, crd(kind, 'x', spec), 'cluster.local');
  assert.ok(out);
  return out.entry;
}

function value(kind: CrdKind, spec: object): unknown {
  const e = parse(kind, spec);
  assert.notEqual(e.kind, 'rejected', JSON.stringify(e.value));
  return e.value;
}

const refused: { kind: CrdKind; spec: object; field: string }[] = [
  { kind: 'RouteRule', spec: {}, field: 'spec.destination.name: needs name or service' },
  {
    kind: 'RouteRule',
    spec: { destination: { name: 'r' }, route: [{ weight: 101 }] },
    field: 'spec.route[0].weight',
  },
  {
    kind: 'RouteRule',
    spec: { destination: { name: 'r' }, precedence: 'high' },
    field: 'spec.precedence',
  },
  {
    kind: 'RouteRule',
    spec: { destination: { name: 'r' }, redirect: { uri: '/a' }, route: [{}] },
    field: 'spec.redirect: route and redirect exclude',
  },
  {
    kind: 'RouteRule',
    spec: { destination: { name: 'r' }, match: { request: { headers: { uri: { regex: '(' } } } } },
    field: 'spec.match.request.headers.uri.regex: does not compile',
  },
  {
    kind: 'RouteRule',
    spec: {
      destination: { name: 'r' },
      match: { request: { headers: { uri: { exact: 'a', prefix: 'b' } } } },
    },
    field: 'spec.match.request.headers.uri.prefix: needs exactly one',
  },
  {
    kind: 'RouteRule',
    spec: { destination: { name: 'r' }, httpFault: { delay: { percent: 10 } } },
    field: 'spec.httpFault.delay.fixedDelay: missing',
  },
  {
    kind: 'RouteRule',
    spec: { destination: { name: 'r' }, httpReqTimeout: { simpleTimeout: { timeout: '0s' } } },
    field: 'spec.httpReqTimeout.simpleTimeout.timeout: must be at least 1ms',
  },
  {
    kind: 'RouteRule',
    spec: { destination: { name: 'r' }, mirror: { name: 'x' } },
    field: 'spec.mirror: unknown field',
  },
  {
    kind: 'DestinationPolicy',
    spec: { destination: { name: 'r' }, loadBalancing: { name: 'FASTEST' } },
    field: 'spec.loadBalancing.name: must be one of ROUND_ROBIN, LEAST_CONN, RANDOM',
  },
  {
    kind: 'DestinationPolicy',
    spec: { destination: { name: 'r' }, circuitBreaker: { simpleCb: { sleepWindow: 'soon' } } },
    field: 'spec.circuitBreaker.simpleCb.sleepWindow',
  },
  {
    kind: 'EgressRule',
    spec: { destination: { service: 'a.com' }, ports: [{ port: 80, protocol: 'tcp' }] },
    field: 'spec.ports[0].protocol',
  },
  {
    kind: 'EgressRule',
    spec: { destination: { service: 'a*.com' }, ports: [{ port: 80, protocol: 'http' }] },
    field: 'spec.destination.service',
  },
];

describe('config objects to typed config', () => {
  for (const r of refused) {
    it(`${r.kind}: refuses ${r.field}`, () => {
      const e = parse(r.kind, r.spec);
      assert.equal(e.kind, 'rejected');
      assert.ok(e.value.message.includes(r.field), e.value.message);
      assert.ok(e.value.message.startsWith(`${r.kind} shop/x: `), e.value.message);
    });
  }

  it('RouteRule: resolves names, fills defaults, sorts headers', () => {
    assert.deepEqual(
      value('RouteRule', {
        destination: { name: 'reviews', namespace: 'other' },
        match: {
          source: { service: 'Productpage.Shop.svc.cluster.local', labels: { version: 'v1' } },
          request: { headers: { uri: { prefix: '/a' }, cookie: { exact: 'c' } } },
        },
        route: [{ labels: { version: 'v1' } }],
        httpFault: { abort: { httpStatus: 503 } },
        httpReqRetries: { simpleRetry: { attempts: 2 } },
      }),
      {
        meta: { kind: 'RouteRule', namespace: 'shop', name: 'x', uid: 'uid-x', generation: 1 },
        destination: 'reviews.other.svc.cluster.local',
        precedence: 0,
        source: { host: 'productpage.shop.svc.cluster.local', labels: { version: 'v1' } },
        headers: [
          { name: 'cookie', match: { type: 'exact', value: 'c' } },
          { name: 'uri', match: { type: 'prefix', value: '/a' } },
        ],
        route: [
          { host: 'reviews.other.svc.cluster.local', labels: { version: 'v1' }, weight: 100 },
        ],
        redirect: undefined,
        rewrite: undefined,
        websocketUpgrade: false,
        timeoutMs: undefined,
        retries: { attempts: 2, perTryTimeoutMs: undefined },
        fault: { delay: undefined, abort: { percent: 100, httpStatus: 503 } },
      },
    );
  });

  it('DestinationPolicy: simpleCb defaults from 0.2', () => {
    const p = value('DestinationPolicy', {
      destination: { name: 'r' },
      circuitBreaker: { simpleCb: { maxConnections: 1 } },
    });
    assert.deepEqual((p as { circuitBreaker: unknown }).circuitBreaker, {
      maxConnections: 1,
      httpMaxPendingRequests: 1024,
      httpMaxRequests: 1024,
      httpMaxRetries: 3,
      sleepWindowMs: 30_000,
      httpConsecutiveErrors: 5,
      httpDetectionIntervalMs: 10_000,
      httpMaxRequestsPerConnection: undefined,
      httpMaxEjectionPercent: 10,
    });
  });

  it('EgressRule: protocols in any case, ports sorted, wildcard flagged', () => {
    const e = value('EgressRule', {
      destination: { service: '*.Foo.com' },
      ports: [
        { port: 443, protocol: 'https' },
        { port: 80, protocol: 'HTTP' },
      ],
    }) as { host: string; wildcard: boolean; ports: unknown };
    assert.equal(e.host, '*.foo.com');
    assert.equal(e.wildcard, true);
    assert.deepEqual(e.ports, [
      { port: 80, protocol: 'HTTP' },
      { port: 443, protocol: 'HTTPS' },
    ]);
  });

  describe('Ingress', () => {
    const ing = (annotations: Record<string, string>, className?: string): V1Ingress => ({
      metadata: { name: 'web', namespace: 'shop', annotations },
      spec: {
        ...(className ? { ingressClassName: className } : {}),
        rules: [
          {
            host: 'Shop.Example.com',
            http: {
              paths: [
                {
                  path: '/api',
                  pathType: 'Prefix',
                  backend: { service: { name: 'reviews', port: { number: 9080 } } },
                },
                {
                  pathType: 'ImplementationSpecific',
                  backend: { service: { name: 'productpage', port: { name: 'http' } } },
                },
              ],
            },
          },
        ],
        tls: [{ hosts: ['shop.example.com'], secretName: 'shop-cert' }],
      },
    });

    it('is ours by annotation, or by class name when there is no annotation', () => {
      assert.ok(isIngressOfClass(ing({ 'kubernetes.io/ingress.class': 'istio' }), 'istio'));
      assert.ok(isIngressOfClass(ing({}, 'istio'), 'istio'));
      assert.ok(
        !isIngressOfClass(ing({ 'kubernetes.io/ingress.class': 'nginx' }, 'istio'), 'istio'),
      );
      assert.ok(!isIngressOfClass(ing({}), 'istio'));
    });

    it('becomes hosts, paths to service ports, and TLS secrets', () => {
      const out = parseIngress(ing({}, 'istio'), 'cluster.local');
      assert.deepEqual(out.rules, [
        {
          host: 'shop.example.com',
          paths: [
            {
              path: '/api',
              pathType: 'Prefix',
              backend: { host: 'reviews.shop.svc.cluster.local', port: 9080 },
            },
            {
              path: '/',
              pathType: 'ImplementationSpecific',
              backend: { host: 'productpage.shop.svc.cluster.local', port: 'http' },
            },
          ],
        },
      ]);
      assert.deepEqual(out.tls, [{ hosts: ['shop.example.com'], secretName: 'shop-cert' }]);
    });
  });
});

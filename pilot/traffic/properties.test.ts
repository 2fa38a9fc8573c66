/**
 * Properties over random traffic config (valid to the schema, applicable or not): every proxy's
 * snapshot is consistent (no route names a missing cluster, which would stop the proxy's
 * updates), every resource passes Envoy's rules, and proxyless ones @grpc/grpc-js-xds's
 * validation. One bad object must never break the others.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Proxy } from '../model/proxy.ts';
import { MeshBuilder } from '../snapshot/mesh-build.ts';
import { buildProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import {
  allResources,
  assertEnvoyAccepts,
  assertGrpcAccepts,
  grpcDecoded,
  grpcResourceType,
} from '../testing/resource-checks.ts';
import { crd, trafficBuild, trafficProxies } from '../testing/traffic-fixture.ts';

const services = ['reviews', 'echo', 'db', 'details', 'nope'];
const external = ['api.foo.com', '*.foo.com'];
const versions = ['v1', 'v2', 'v3', 'v9'];

const ref = fc.oneof(
  fc.constantFrom(...services).map((name) => ({ name })),
  fc.constantFrom(...external).map((service) => ({ service })),
);

const share = fc.record(
  {
    destination: ref,
    labels: fc.constantFrom(...versions).map((version) => ({ version })),
    weight: fc.integer({ min: 0, max: 100 }),
  },
  { requiredKeys: ['weight'], noNullPrototype: true },
);

const routeRule = fc.record(
  {
    destination: ref,
    precedence: fc.integer({ min: 0, max: 3 }),
    match: fc.record(
      {
        source: fc.constantFrom({ name: 'productpage' }, { labels: { app: 'productpage' } }),
        request: fc.constant({ headers: { 'x-user': { exact: 'jason' } } }),
      },
      { requiredKeys: [] },
    ),
    // Mostly weights that sum to 100 (applicable), sometimes not.
    route: fc.tuple(fc.array(share, { maxLength: 3 }), fc.boolean()).map(([shares, fix]) => {
      if (!fix || shares.length === 0) return shares;
      let left = 100;
      return shares.map((s, i) => {
        const weight = i === shares.length - 1 ? left : Math.min(s.weight, left);
        left -= weight;
        return { ...s, weight };
      });
    }),
    httpReqTimeout: fc.constant({ simpleTimeout: { timeout: '1s' } }),
    httpFault: fc.constant({ abort: { percent: 50, httpStatus: 503 } }),
  },
  { requiredKeys: ['destination'] },
);

const redirectRule = fc.record({
  destination: ref,
  redirect: fc.constant({ uri: '/moved' }),
});

const policy = fc.record(
  {
    destination: fc
      .tuple(ref, fc.option(fc.constantFrom(...versions)))
      .map(([d, v]) => (v === null ? d : { ...d, labels: { version: v } })),
    source: fc.constant({ name: 'productpage' }),
    loadBalancing: fc.constant({ name: 'LEAST_CONN' }),
    circuitBreaker: fc.constant({ simpleCb: { maxConnections: 10 } }),
  },
  { requiredKeys: ['destination', 'loadBalancing'] },
);

const egressRule = fc.record({
  destination: fc.constantFrom(...external).map((service) => ({ service })),
  ports: fc.constantFrom(
    [{ port: 80, protocol: 'http' }],
    [{ port: 443, protocol: 'https' }],
    [{ port: 9080, protocol: 'HTTP' }],
    [{ port: 50051, protocol: 'grpc' }],
  ),
  useEgressProxy: fc.boolean(),
});

const config = fc
  .tuple(
    fc.array(routeRule, { maxLength: 4 }),
    fc.array(redirectRule, { maxLength: 1 }),
    fc.array(policy, { maxLength: 2 }),
    fc.array(egressRule, { maxLength: 2 }),
  )
  .map(([rules, redirects, policies, egress]) => [
    ...[...rules, ...redirects].map((spec, i) => crd('RouteRule', `r${i}`, spec)),
    ...policies.map((spec, i) => crd('DestinationPolicy', `p${i}`, spec)),
    ...egress.map((spec, i) => crd('EgressRule', `e${i}`, spec)),
  ]);

type Spec = Record<string, unknown>;
type Mutation = (spec: Spec) => Spec;

/** Small edits of one RouteRule: what users do between two pushes. */
const mutations: Mutation[] = [
  (s) => ({ ...s, httpFault: { abort: { percent: 30, httpStatus: 503 } } }),
  (s) => ({ ...s, httpFault: { delay: { percent: 100, fixedDelay: '10ms' } } }),
  (s) => ({ ...s, httpFault: undefined }),
  (s) => ({ ...s, httpReqTimeout: { simpleTimeout: { timeout: '2s' } } }),
  (s) => ({ ...s, httpReqTimeout: undefined }),
  (s) => ({ ...s, httpReqRetries: { simpleRetry: { attempts: 2 } } }),
  (s) => ({ ...s, precedence: 9 }),
];

/** A config with one applicable rule, and the same config with that rule edited. */
const edited = config.chain((a) =>
  fc
    .tuple(fc.constantFrom('echo', 'reviews'), fc.constantFrom(...mutations))
    .map(([service, m]): [object[], object[]] => {
      const spec: Spec = { destination: { name: service }, route: [{ labels: { version: 'v1' } }] };
      const edit = (x: Spec) => crd('RouteRule', 'edited', JSON.parse(JSON.stringify(x)) as Spec);
      return [
        [...a, edit(spec)],
        [...a, edit(m(spec))],
      ];
    }),
);

const proxies = ['productpage', 'reviews', 'grpc', 'grpcOther', 'ingress', 'egress'].map(
  (k) => trafficProxies[k] as Proxy,
);

describe('traffic config properties', function () {
  this.timeout(60_000);

  it('every proxy gets a consistent snapshot that its client accepts, whatever the config', () => {
    fc.assert(
      fc.property(config, (objects) => {
        const build = trafficBuild(objects);
        for (const p of proxies) {
          const snap = buildProxySnapshot(build, p);
          for (const r of allResources(snap)) {
            assertEnvoyAccepts(r);
            if (p.kind === 'grpc') assertGrpcAccepts(r);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('every change a proxyless client is sent is one @grpc/grpc-js-xds notices', () => {
    const grpc = trafficProxies['grpc'] as Proxy;
    fc.assert(
      fc.property(fc.oneof(fc.tuple(config, config), edited), ([a, b]) => {
        const before = buildProxySnapshot(trafficBuild(a), grpc);
        const after = buildProxySnapshot(trafficBuild(b), grpc);
        for (const r of allResources(after)) {
          const old = before.resources.get(r.typeUrl)?.get(r.name);
          if (old === undefined || old.hash === r.hash) continue;
          const t = grpcResourceType(r.typeUrl);
          assert.ok(
            !t.resourcesEqual(grpcDecoded(old), grpcDecoded(r)),
            `${r.name} looks unchanged`,
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a build after any change is consistent too (caches keep nothing stale)', () => {
    fc.assert(
      fc.property(config, config, (a, b) => {
        const builder = new MeshBuilder();
        trafficBuild(a, undefined, builder);
        const build = trafficBuild(b, undefined, builder);
        const fresh = trafficBuild(b);
        for (const p of proxies) {
          const hashes = (s: ReturnType<typeof buildProxySnapshot>) =>
            allResources(s).map((r) => `${r.name}=${r.hash}`);
          assert.deepEqual(
            hashes(buildProxySnapshot(build, p)),
            hashes(buildProxySnapshot(fresh, p)),
          );
        }
      }),
      { numRuns: 40 },
    );
  });
});

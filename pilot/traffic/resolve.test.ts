/**
 * Traffic resolution: which objects apply, and why the others do not (each reason a status
 * condition reason and a /debug/configz line), with every other object still applied.
 */
import assert from 'node:assert/strict';
import { configKey } from '../config/model.ts';
import { service } from '../testing/fixtures.ts';
import { configOf, crd, host, trafficRegistry } from '../testing/traffic-fixture.ts';
import { resolveTraffic } from './resolve.ts';
import type { Traffic } from './traffic.ts';

const good = crd('RouteRule', 'good', {
  destination: { name: 'reviews' },
  route: [{ labels: { version: 'v1' } }],
});

function resolve(
  objects: readonly object[],
  previous?: Traffic,
  registry = trafficRegistry(),
): Traffic {
  return resolveTraffic({
    state: registry.current(),
    config: configOf(objects),
    egressService: 'istio-egress',
    previous,
  });
}

const rows: { name: string; object: object; reason: string; message: RegExp }[] = [
  {
    name: 'a route to labels no pod has',
    object: crd('RouteRule', 'bad', {
      destination: { name: 'reviews' },
      route: [{ labels: { version: 'v9' } }],
    }),
    reason: 'NoMatchingPods',
    message: /route\[0\]: no pod of reviews\.shop\.svc\.cluster\.local has labels version=v9/,
  },
  {
    name: 'weights that do not sum to 100',
    object: crd('RouteRule', 'bad', {
      destination: { name: 'reviews' },
      route: [
        { labels: { version: 'v1' }, weight: 60 },
        { labels: { version: 'v2' }, weight: 30 },
      ],
    }),
    reason: 'WeightsNot100',
    message: /sum to 90, not 100/,
  },
  {
    name: 'a destination that is not a service',
    object: crd('RouteRule', 'bad', { destination: { name: 'nope' } }),
    reason: 'UnknownDestination',
    message: /nope\.shop\.svc\.cluster\.local is not a known service/,
  },
  {
    name: 'a share to a service lacking the port',
    object: crd('RouteRule', 'bad', {
      destination: { name: 'reviews' },
      route: [{ destination: { name: 'db' }, weight: 100 }],
    }),
    reason: 'NoMatchingPort',
    message: /db\.shop\.svc\.cluster\.local has no port 9080/,
  },
  {
    name: 'a share of a mesh service sent to an external host',
    object: crd('RouteRule', 'bad', {
      destination: { name: 'reviews' },
      route: [{ destination: { service: 'api.foo.com' }, weight: 100 }],
    }),
    reason: 'UnknownDestination',
    message: /api\.foo\.com is not a known service/,
  },
  {
    name: 'a rule for a service with no HTTP port',
    object: crd('RouteRule', 'bad', { destination: { name: 'db' } }),
    reason: 'NotHttp',
    message: /db\.shop\.svc\.cluster\.local has no HTTP port/,
  },
  {
    name: 'a policy for a version no rule routes to',
    object: crd('DestinationPolicy', 'bad', {
      destination: { name: 'reviews', labels: { version: 'v2' } },
      loadBalancing: { name: 'RANDOM' },
    }),
    reason: 'NotRouted',
    message: /no RouteRule routes to version=v2/,
  },
  {
    name: 'a policy for an unknown service',
    object: crd('DestinationPolicy', 'bad', {
      destination: { name: 'nope' },
      loadBalancing: { name: 'RANDOM' },
    }),
    reason: 'UnknownDestination',
    message: /nope/,
  },
  {
    name: 'an egress host that is a mesh service',
    object: crd('EgressRule', 'bad', {
      destination: { service: host('ratings') },
      ports: [{ port: 80, protocol: 'http' }],
    }),
    reason: 'ConflictsWithService',
    message: /is a service in the mesh/,
  },
  {
    name: 'an object the schema let through but Pilot cannot read',
    object: crd('RouteRule', 'bad', { destination: { name: 'reviews' }, route: 'v1' }),
    reason: 'Invalid',
    message: /RouteRule shop\/bad: spec\.route: must be a list/,
  },
];

describe('traffic resolution', () => {
  for (const row of rows) {
    it(`reports ${row.name}, and the other rules still apply`, () => {
      const t = resolve([good, row.object]);
      assert.equal(t.problems.length, 1, JSON.stringify(t.problems));
      const p = t.problems[0];
      assert.equal(p?.reason, row.reason);
      assert.match(p.message, row.message);
      assert.equal(
        configKey(p.meta),
        configKey({
          kind: (row.object as { kind: 'RouteRule' }).kind,
          namespace: 'shop',
          name: 'bad',
        }),
      );
      assert.deepEqual(t.applied.map(configKey), ['RouteRule/shop/good']);
      assert.equal(t.hosts.get(host('reviews'))?.rules.length, 1);
    });
  }

  it('a later EgressRule claiming a taken host and port is reported', () => {
    const e = (name: string) =>
      crd('EgressRule', name, {
        destination: { service: '*.foo.com' },
        ports: [{ port: 443, protocol: 'https' }],
      });
    const t = resolve([e('a'), e('b')]);
    assert.deepEqual(
      t.egress.map((x) => x.meta.name),
      ['a'],
    );
    assert.equal(t.problems[0]?.reason, 'Conflict');
    assert.match(t.problems[0].message, /already declared by EgressRule shop\/a/);
  });

  it('a share of a mesh service sent to a declared external host is refused', () => {
    const t = resolve([
      crd('EgressRule', 'api', {
        destination: { service: 'api.foo.com' },
        ports: [{ port: 9080, protocol: 'http' }],
      }),
      crd('RouteRule', 'bad', {
        destination: { name: 'reviews' },
        route: [{ destination: { service: 'api.foo.com' }, weight: 100 }],
      }),
    ]);
    assert.equal(t.problems[0]?.reason, 'NoMatchingPort');
    assert.match(t.problems[0].message, /api\.foo\.com is an external host/);
  });

  it('useEgressProxy without an egress gateway is reported', () => {
    const r = trafficRegistry();
    r.deleteService(host('istio-egress', 'istio-system'));
    const t = resolve(
      [
        crd('EgressRule', 'x', {
          destination: { service: 'api.foo.com' },
          ports: [{ port: 80, protocol: 'http' }],
          useEgressProxy: true,
        }),
      ],
      undefined,
      r,
    );
    assert.equal(t.problems[0]?.reason, 'NoEgressGateway');
  });

  it('collects the subsets each host is routed to, from rules of any destination', () => {
    const t = resolve([
      crd('RouteRule', 'split', {
        destination: { name: 'productpage' },
        route: [
          { destination: { name: 'reviews' }, labels: { version: 'v2' }, weight: 50 },
          { destination: { name: 'reviews' }, labels: { version: 'v1' }, weight: 50 },
        ],
      }),
    ]);
    assert.deepEqual(
      t.hosts.get(host('reviews'))?.subsets.map((s) => s.name),
      ['version=v1', 'version=v2'],
    );
    assert.equal(t.hosts.get(host('productpage'))?.rules.length, 1);
  });

  it('keeps the previous objects when nothing changed, so caches keyed on them stay', () => {
    const a = resolve([good]);
    const b = resolve([good], a);
    assert.equal(b, a);
    const c = resolve([good, crd('RouteRule', 'other', { destination: { name: 'ratings' } })], a);
    assert.notEqual(c, a);
    assert.equal(c.hosts.get(host('reviews')), a.hosts.get(host('reviews')), 'unchanged host kept');
  });

  it('a rule becomes applicable when its pods appear', () => {
    const registry = trafficRegistry();
    const rule = crd('RouteRule', 'v4', {
      destination: { name: 'ratings' },
      route: [{ labels: { version: 'v4' } }],
    });
    assert.equal(resolve([rule], undefined, registry).problems[0]?.reason, 'NoMatchingPods');
    registry.setService(service('ratings', 'shop', { http: 9080 }, '10.0.0.11'));
    registry.setEndpoints(host('ratings'), [
      {
        ...(registry.current().endpoints.get(host('reviews'))?.[0] ?? assert.fail()),
        labels: { version: 'v4' },
      },
    ]);
    assert.deepEqual(resolve([rule], undefined, registry).problems, []);
  });
});

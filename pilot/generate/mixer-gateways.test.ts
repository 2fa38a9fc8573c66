/**
 * Mixer client filters at the gateways: the ingress and egress gateways check every request
 * (ext_authz, each route naming its backend) and report it (an access log), as the client of what
 * they forward (`context.reporter.kind` `outbound`); nothing without Mixer in the mesh.
 */
import assert from 'node:assert/strict';
import { defaultMeshConfig, type MeshConfig } from '../../lib/mesh-config.ts';
import { AgentCluster } from '../../lib/xds/agent-clusters.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Proxy } from '../model/proxy.ts';
import { MeshBuilder } from '../snapshot/mesh-build.ts';
import { buildProxySnapshot, type ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import {
  allResources,
  assertEnvoyAccepts,
  at,
  resourceJson,
  type Json,
} from '../testing/resource-checks.ts';
import { reviewsRule } from '../testing/route-rows.ts';
import {
  configOf,
  crd,
  host,
  ingress,
  trafficProxies,
  trafficRegistry,
} from '../testing/traffic-fixture.ts';
import { genContext } from './context.ts';

const ingressGw = trafficProxies['ingress'] as Proxy;
const egressGw = trafficProxies['egress'] as Proxy;
const noMixer: MeshConfig = { ...defaultMeshConfig, mixerCheckServer: '', mixerReportServer: '' };
const ExtAuthz = 'envoy.filters.http.ext_authz';

const backend = (name: string) => ({ service: { name, port: { number: 9080 } } });
const shop = ingress('shop', {
  rules: [
    {
      host: 'shop.example.com',
      http: {
        paths: [
          { path: '/api', pathType: 'Prefix', backend: backend('reviews') },
          { path: '/login', pathType: 'Exact', backend: backend('productpage') },
        ],
      },
    },
  ],
  defaultBackend: backend('ratings'),
  tls: [{ hosts: ['shop.example.com'], secretName: 'shop-cert' }],
});
const api = crd('EgressRule', 'api', {
  destination: { service: 'api.foo.com' },
  ports: [{ port: 80, protocol: 'http' }],
  useEgressProxy: true,
});
const objects = [shop, api];

function snap(proxy: Proxy, mesh = defaultMeshConfig, builder = new MeshBuilder()): ProxySnapshot {
  const ctx = genContext({ ...mesh, authPolicy: 'NONE' });
  const build = builder.build(trafficRegistry().current(), ctx, Date.now(), configOf(objects));
  const s = buildProxySnapshot(build, proxy);
  for (const r of allResources(s)) assertEnvoyAccepts(r);
  return s;
}

function hcmOf(l: Json, chain = 0): Json {
  return at(l, 'filter_chains', chain, 'filters', 0, 'typed_config') as Json;
}

function filters(h: Json): string[] {
  return (h['http_filters'] as Json[]).map((f) => String(f['name']));
}

function logTags(h: Json): Record<string, unknown> {
  const logs = h['access_log'] as Json[];
  assert.equal(logs.length, 1);
  const common = at(logs[0], 'typed_config', 'common_config') as Json;
  assert.equal(at(common, 'grpc_service', 'envoy_grpc', 'cluster_name'), AgentCluster.Mixer);
  return Object.fromEntries(
    (common['custom_tags'] as Json[]).map((t): [string, unknown] => [
      String(t['tag']),
      at(t, 'literal', 'value'),
    ]),
  );
}

function context(x: unknown): unknown {
  return at(x, 'typed_per_filter_config', ExtAuthz, 'check_settings', 'context_extensions');
}

const outbound = (service: string) => ({
  'context.reporter.kind': 'outbound',
  'destination.service': service,
});

describe('Mixer client filters at the gateways', () => {
  it('the ingress gateway checks and reports on its HTTP and HTTPS listeners', () => {
    const s = snap(ingressGw);
    for (const name of ['ingress_8080', 'ingress_8443']) {
      const h = hcmOf(resourceJson(s, TypeUrl.Listener, name));
      assert.ok(filters(h).includes(ExtAuthz), `${name}: ${filters(h).join(', ')}`);
      assert.equal(filters(h).at(-1), 'envoy.filters.http.router');
      assert.deepEqual(logTags(h), { 'context.reporter.kind': 'outbound' }, name);
    }
  });

  it('each ingress route names its backend for the check, the default backend too', () => {
    const rc = resourceJson(snap(ingressGw), TypeUrl.RouteConfiguration, 'ingress');
    const routes = (rc['virtual_hosts'] as Json[]).flatMap((vh) => vh['routes'] as Json[]);
    assert.deepEqual(
      routes.map((r) => [r['name'], context(r)]),
      [
        // shop.example.com, then `*` (the default backend alone).
        ['Ingress/shop/shop', outbound(host('productpage'))],
        ['Ingress/shop/shop', outbound(host('reviews'))],
        ['default-backend', outbound(host('ratings'))],
        ['default-backend', outbound(host('ratings'))],
      ],
    );
  });

  it("a backend's RouteRule routes keep their faults and name the backend too", () => {
    const rule = reviewsRule('delay', {
      httpFault: { delay: { percent: 100, fixedDelay: '2s' } },
      route: [{ labels: { version: 'v1' } }],
    });
    const ctx = genContext({ ...defaultMeshConfig, authPolicy: 'NONE' });
    const build = new MeshBuilder().build(
      trafficRegistry().current(),
      ctx,
      0,
      configOf([...objects, rule]),
    );
    const rc = resourceJson(
      buildProxySnapshot(build, ingressGw),
      TypeUrl.RouteConfiguration,
      'ingress',
    );
    const r = (at(rc, 'virtual_hosts', 0, 'routes') as Json[]).find((x) =>
      String(x['name']).endsWith('/delay'),
    );
    assert.ok(r);
    assert.deepEqual(context(r), outbound(host('reviews')));
    assert.ok(at(r, 'typed_per_filter_config', 'envoy.filters.http.fault'), 'the fault stays');
  });

  it('the egress gateway checks and reports, each external host its destination', () => {
    const s = snap(egressGw);
    const l = [...(s.resources.get(TypeUrl.Listener)?.keys() ?? [])];
    assert.deepEqual(l, ['egress-gateway_8080']);
    const h = hcmOf(resourceJson(s, TypeUrl.Listener, 'egress-gateway_8080'));
    assert.deepEqual(filters(h), [ExtAuthz, 'envoy.filters.http.router']);
    assert.deepEqual(logTags(h), { 'context.reporter.kind': 'outbound' });
    const rc = resourceJson(s, TypeUrl.RouteConfiguration, 'egress-gateway');
    assert.deepEqual(context(at(rc, 'virtual_hosts', 0)), outbound('api.foo.com'));
  });

  it('without Mixer in the mesh, gateways get no Mixer filter or context', () => {
    for (const gw of [ingressGw, egressGw]) {
      const text = allResources(snap(gw, noMixer))
        .map((r) => Buffer.from(r.any).toString('latin1'))
        .join();
      assert.doesNotMatch(text, /ext_authz|AccessLog|context\.reporter/);
    }
  });

  it('check only or report only: the other filter is left out', () => {
    const checkOnly = snap(ingressGw, { ...defaultMeshConfig, mixerReportServer: '' });
    const h = hcmOf(resourceJson(checkOnly, TypeUrl.Listener, 'ingress_8080'));
    assert.ok(filters(h).includes(ExtAuthz));
    assert.equal(h['access_log'], undefined);
    const reportOnly = snap(ingressGw, { ...defaultMeshConfig, mixerCheckServer: '' });
    const r = hcmOf(resourceJson(reportOnly, TypeUrl.Listener, 'ingress_8080'));
    assert.ok(!filters(r).includes(ExtAuthz));
    const rc = resourceJson(reportOnly, TypeUrl.RouteConfiguration, 'ingress');
    assert.equal(context(at(rc, 'virtual_hosts', 0, 'routes', 0)), undefined);
  });

  it('a reused builder follows the mesh config for gateways (cached by Mixer settings)', () => {
    const builder = new MeshBuilder();
    const has = (mesh: MeshConfig) =>
      JSON.stringify(
        resourceJson(snap(ingressGw, mesh, builder), TypeUrl.Listener, 'ingress_8080'),
      ).includes(ExtAuthz);
    assert.equal(has(defaultMeshConfig), true);
    assert.equal(has(noMixer), false);
    assert.equal(has(defaultMeshConfig), true);
  });
});

/**
 * Envoy traces only on HTTP connection managers that carry `tracing`: with a collector in the mesh
 * config, every HCM Pilot sends sidecars (inbound and outbound) and gateways (ingress and egress)
 * has it, sampling at the mesh's `defaultConfig.tracing.sampling`, and Envoy accepts it; without
 * one (or with `enableTracing: false`) none has it. Proxyless gRPC clients never get it.
 */
import assert from 'node:assert/strict';
import { defaultMeshConfig, parseMeshConfig, type MeshConfig } from '../../lib/mesh-config.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { anyToJson } from '../../lib/xds/json-view.ts';
import type { Proxy } from '../model/proxy.ts';
import { MeshBuilder } from '../snapshot/mesh-build.ts';
import { buildProxySnapshot, type ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import { allResources, assertEnvoyAccepts, at, type Json } from '../testing/resource-checks.ts';
import {
  configOf,
  crd,
  ingress,
  trafficProxies,
  trafficRegistry,
} from '../testing/traffic-fixture.ts';
import { genContext } from './context.ts';

const objects = [
  ingress('shop', {
    rules: [
      {
        host: 'shop.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'reviews', port: { number: 9080 } } },
            },
          ],
        },
      },
    ],
    tls: [{ hosts: ['shop.example.com'], secretName: 'shop-cert' }],
  }),
  crd('EgressRule', 'api', {
    destination: { service: 'api.foo.com' },
    ports: [{ port: 80, protocol: 'http' }],
    useEgressProxy: true,
  }),
];

function snapshot(mesh: MeshConfig, proxy: string): ProxySnapshot {
  const build = new MeshBuilder().build(
    trafficRegistry().current(),
    genContext({ ...mesh, authPolicy: 'NONE' }),
    Date.now(),
    configOf(objects),
  );
  const s = buildProxySnapshot(build, trafficProxies[proxy] as Proxy);
  for (const r of allResources(s)) assertEnvoyAccepts(r);
  return s;
}

/** Every HTTP connection manager of the snapshot's listeners, by listener and chain name. */
function managers(s: ProxySnapshot): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const r of s.resources.get(TypeUrl.Listener)?.values() ?? []) {
    const l = anyToJson(r.any);
    const api = at(l, 'api_listener', 'api_listener');
    if (api !== undefined) out.set(r.name, api as Json);
    for (const c of (l['filter_chains'] ?? []) as Json[]) {
      for (const f of (c['filters'] ?? []) as Json[]) {
        if (f['name'] === 'envoy.filters.network.http_connection_manager') {
          out.set(`${r.name}/${String(c['name'])}`, f['typed_config'] as Json);
        }
      }
    }
  }
  return out;
}

const traced = (sampling: number): MeshConfig =>
  parseMeshConfig({
    defaultConfig: { zipkinAddress: 'zipkin.istio-system:9411', tracing: { sampling } },
  });

describe('pilot: tracing on HTTP connection managers', () => {
  const proxies = { productpage: 'sidecar', ingress: 'ingress gateway', egress: 'egress gateway' };

  for (const [proxy, what] of Object.entries(proxies)) {
    it(`${what}: every HCM samples at the mesh's percentage when a collector is set`, () => {
      for (const sampling of [1, 100, 0.5]) {
        const hcms = managers(snapshot(traced(sampling), proxy));
        assert.ok(hcms.size > 0, `${what} has HTTP connection managers`);
        for (const [name, hcm] of hcms) {
          assert.deepEqual(
            hcm['tracing'],
            {
              client_sampling: { value: 100 },
              random_sampling: { value: sampling },
              overall_sampling: { value: 100 },
            },
            name,
          );
        }
      }
    });

    it(`${what}: no tracing without a collector or with enableTracing false`, () => {
      for (const mesh of [defaultMeshConfig, { ...traced(100), enableTracing: false }]) {
        for (const [name, hcm] of managers(snapshot(mesh, proxy))) {
          assert.equal(hcm['tracing'], undefined, name);
        }
      }
    });
  }

  it('the sidecar has inbound and outbound HCMs, the gateways ingress and egress ones', () => {
    const names = (p: string) => [...managers(snapshot(traced(1), p)).keys()].join(' ');
    assert.match(names('productpage'), /virtualInbound\//);
    assert.match(names('productpage'), /virtualOutbound\//);
    assert.match(names('ingress'), /ingress_8080\//);
    assert.match(names('ingress'), /ingress_8443\//);
    assert.match(names('egress'), /egress-gateway_8080\//);
  });

  it('proxyless gRPC clients get no tracing (their xDS client has no tracer)', () => {
    const hcms = managers(snapshot(traced(100), 'grpc'));
    assert.ok(hcms.size > 0);
    for (const [name, hcm] of hcms) assert.equal(hcm['tracing'], undefined, name);
  });
});

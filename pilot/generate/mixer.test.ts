import assert from 'node:assert/strict';
import { defaultMeshConfig, type MeshConfig } from '../../lib/mesh-config.ts';
import { applyCarrier } from '../../lib/mixer/envoy-attributes.ts';
import type { Value } from '../../lib/mixer/value.ts';
import { AgentCluster } from '../../lib/xds/agent-clusters.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { parseProxy, type Proxy } from '../model/proxy.ts';
import { MeshBuilder } from '../snapshot/mesh-build.ts';
import { buildProxySnapshot, type ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import { fixtureProxies, fixtureRegistry, fixtureServices } from '../testing/mesh-fixture.ts';
import {
  allResources,
  assertEnvoyAccepts,
  at,
  resourceJson,
  type Json,
} from '../testing/resource-checks.ts';
import { genContext } from './context.ts';
import { ListenerName } from './names.ts';

const noMixerMesh: MeshConfig = {
  ...defaultMeshConfig,
  mixerCheckServer: '',
  mixerReportServer: '',
};
/** A pod of the headless kafka service: HTTP 8080 and TCP 9092 inbound. */
const kafkaPod = parseProxy('sidecar~10.1.0.7~kafka-1.shop~shop.svc.cluster.local', {});

function snapshot(mesh: MeshConfig, proxy: Proxy): ProxySnapshot {
  const build = new MeshBuilder().build(fixtureRegistry().current(), genContext(mesh), Date.now());
  return buildProxySnapshot(build, proxy);
}

function chain(listener: Json, name: string): Json {
  const c = (listener['filter_chains'] as Json[]).find((x) => x['name'] === name);
  assert.ok(c, `chain ${name}`);
  return c;
}

function filterNames(c: Json): string[] {
  return (c['filters'] as Json[]).map((f) => f['name'] as string);
}

function hcm(c: Json): Json {
  const f = (c['filters'] as Json[]).find(
    (x) => x['name'] === 'envoy.filters.network.http_connection_manager',
  );
  assert.ok(f);
  return at(f, 'typed_config') as Json;
}

function tcpProxy(c: Json): Json {
  const f = (c['filters'] as Json[]).find((x) => x['name'] === 'envoy.filters.network.tcp_proxy');
  assert.ok(f);
  return at(f, 'typed_config') as Json;
}

function httpFilterNames(h: Json): string[] {
  return (h['http_filters'] as Json[]).map((f) => f['name'] as string);
}

/** An access log's gRPC cluster and custom tags (tag → literal). */
function accessLog(cfg: Json): { cluster: unknown; tags: Record<string, unknown> } {
  const logs = cfg['access_log'] as Json[] | undefined;
  assert.equal(logs?.length, 1, 'one access log');
  const common = at(logs[0], 'typed_config', 'common_config') as Json;
  const tags = (common['custom_tags'] as Json[] | undefined) ?? [];
  return {
    cluster: at(common, 'grpc_service', 'envoy_grpc', 'cluster_name'),
    tags: Object.fromEntries(
      tags.map((t): [string, unknown] => [String(t['tag']), at(t, 'literal', 'value')]),
    ),
  };
}

function listeners(snap: ProxySnapshot): { inbound: Json; outbound: Json } {
  return {
    inbound: resourceJson(snap, TypeUrl.Listener, ListenerName.Inbound),
    outbound: resourceJson(snap, TypeUrl.Listener, ListenerName.Outbound),
  };
}

const kafka = fixtureServices.kafka.hostname;
const db = fixtureServices.db.hostname;

describe('Mixer client filters in sidecar listeners', () => {
  it('checks inbound HTTP with ext_authz before the router, carrying the reporter kind', () => {
    const { inbound } = listeners(snapshot(defaultMeshConfig, kafkaPod));
    const h = hcm(chain(inbound, 'inbound|8080||'));
    assert.deepEqual(httpFilterNames(h), [
      'envoy.filters.http.ext_authz',
      'envoy.filters.http.router',
    ]);
    const authz = at(h, 'http_filters', 0, 'typed_config') as Json;
    assert.equal(at(authz, 'grpc_service', 'envoy_grpc', 'cluster_name'), AgentCluster.Mixer);
    const vhost = at(h, 'route_config', 'virtual_hosts', 0) as Json;
    assert.deepEqual(
      at(vhost, 'typed_per_filter_config', 'envoy.filters.http.ext_authz', 'check_settings'),
      { context_extensions: { 'context.reporter.kind': 'inbound' } },
    );
    assert.deepEqual(accessLog(h), {
      cluster: AgentCluster.Mixer,
      tags: { 'context.reporter.kind': 'inbound' },
    });
  });

  it('checks inbound TCP with the network ext_authz before tcp_proxy, which logs', () => {
    const { inbound } = listeners(snapshot(defaultMeshConfig, kafkaPod));
    const c = chain(inbound, 'inbound|9092||');
    assert.deepEqual(filterNames(c), [
      'envoy.filters.network.ext_authz',
      'envoy.filters.network.tcp_proxy',
    ]);
    assert.equal(
      at(c, 'filters', 0, 'typed_config', 'grpc_service', 'envoy_grpc', 'cluster_name'),
      AgentCluster.Mixer,
    );
    assert.deepEqual(accessLog(tcpProxy(c)).tags, { 'context.reporter.kind': 'inbound' });
  });

  it('Mongo keeps its filter between ext_authz and tcp_proxy', () => {
    const dbPod = parseProxy('sidecar~10.1.0.5~db-1.shop~shop.svc.cluster.local', {});
    const { inbound } = listeners(snapshot(defaultMeshConfig, dbPod));
    assert.deepEqual(filterNames(chain(inbound, 'inbound|27017||')), [
      'envoy.filters.network.ext_authz',
      'envoy.filters.network.mongo_proxy',
      'envoy.filters.network.tcp_proxy',
    ]);
  });

  it('reports outbound HTTP and TCP without checking them', () => {
    const { outbound } = listeners(snapshot(defaultMeshConfig, fixtureProxies.sidecar));
    const h = hcm(chain(outbound, '0.0.0.0_9080'));
    assert.deepEqual(httpFilterNames(h), ['envoy.filters.http.fault', 'envoy.filters.http.router']);
    assert.deepEqual(accessLog(h), {
      cluster: AgentCluster.Mixer,
      tags: { 'context.reporter.kind': 'outbound' },
    });
    const c = chain(outbound, `outbound|27017||${db}`);
    assert.deepEqual(filterNames(c), [
      'envoy.filters.network.mongo_proxy',
      'envoy.filters.network.tcp_proxy',
    ]);
    const tags = accessLog(tcpProxy(c)).tags;
    assert.deepEqual(tags, { 'context.reporter.kind': 'outbound', 'destination.service': db });
    // What the agent makes of them (lib/mixer/envoy-attributes.ts).
    const bag = new Map<string, Value>();
    applyCarrier(bag, Object.entries(tags as Record<string, string>));
    assert.equal(bag.get('destination.service'), db);
    assert.equal(bag.get('context.reporter.kind'), 'outbound');
    assert.deepEqual(accessLog(tcpProxy(chain(outbound, `outbound|9092||${kafka}`))).tags, {
      'context.reporter.kind': 'outbound',
      'destination.service': kafka,
    });
  });

  it('reports without checks when only a report server is configured, and the reverse', () => {
    const reportOnly = { ...defaultMeshConfig, mixerCheckServer: '' };
    const r = listeners(snapshot(reportOnly, kafkaPod)).inbound;
    assert.deepEqual(filterNames(chain(r, 'inbound|9092||')), ['envoy.filters.network.tcp_proxy']);
    assert.equal(accessLog(tcpProxy(chain(r, 'inbound|9092||'))).cluster, AgentCluster.Mixer);
    const checkOnly = { ...defaultMeshConfig, mixerReportServer: '' };
    const c = listeners(snapshot(checkOnly, kafkaPod));
    const h = hcm(chain(c.inbound, 'inbound|8080||'));
    assert.equal(httpFilterNames(h)[0], 'envoy.filters.http.ext_authz');
    assert.equal(h['access_log'], undefined);
    assert.equal(hcm(chain(c.outbound, '0.0.0.0_8080'))['access_log'], undefined);
  });

  it('adds nothing when the mesh has no Mixer', () => {
    const text = JSON.stringify(listeners(snapshot(noMixerMesh, kafkaPod)));
    assert.doesNotMatch(text, /ext_authz|access_log|istio-agent-mixer/);
    const { inbound } = listeners(snapshot(noMixerMesh, kafkaPod));
    assert.deepEqual(httpFilterNames(hcm(chain(inbound, 'inbound|8080||'))), [
      'envoy.filters.http.router',
    ]);
  });

  it('the outbound listener follows the mesh config through a reused builder', () => {
    const builder = new MeshBuilder();
    const state = fixtureRegistry().current();
    const outbound = (mesh: MeshConfig): string =>
      JSON.stringify(
        resourceJson(
          buildProxySnapshot(builder.build(state, genContext(mesh), 0), fixtureProxies.sidecar),
          TypeUrl.Listener,
          ListenerName.Outbound,
        ),
      );
    assert.match(outbound(defaultMeshConfig), /access_log/);
    assert.doesNotMatch(outbound(noMixerMesh), /access_log/);
    assert.match(outbound(defaultMeshConfig), /access_log/);
  });

  it('a gateway serving neither Ingress nor EgressRule, and proxyless clients, get the same resources with or without Mixer', () => {
    for (const kind of ['router', 'grpc'] as const) {
      const bytes = (mesh: MeshConfig): string[] =>
        allResources(snapshot(mesh, fixtureProxies[kind])).map(
          (r) => `${r.typeUrl} ${r.name} ${Buffer.from(r.any).toString('base64')}`,
        );
      assert.deepEqual(bytes(defaultMeshConfig), bytes(noMixerMesh), kind);
      assert.doesNotMatch(bytes(defaultMeshConfig).join(), /ext_authz|grpc\.v3\.\w*AccessLog/);
    }
  });

  it('every sidecar resource with Mixer filters passes Envoy protos and rules', () => {
    for (const proxy of [kafkaPod, fixtureProxies.sidecar])
      for (const r of allResources(snapshot(defaultMeshConfig, proxy))) assertEnvoyAccepts(r);
  });
});

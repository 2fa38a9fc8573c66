import assert from 'node:assert/strict';
import { encodeProtoJson } from '../../lib/xds/proto-json.ts';
import { messageToJson } from '../../lib/xds/json-view.ts';
import { AgentCluster } from '../../lib/xds/agent-clusters.ts';
import { parseAgentConfig, type AgentMode } from '../settings.ts';
import { loadAgentProtos } from '../testing/envoy-protos.ts';
import { buildBootstrap, type BootstrapInput, type JsonObject } from './bootstrap.ts';
import { nodeIdentity } from './node.ts';

const BootstrapType = 'envoy.config.bootstrap.v3.Bootstrap';

const env = {
  POD_NAME: 'reviews-1',
  POD_NAMESPACE: 'shop',
  INSTANCE_IP: '10.1.0.1',
  HOST_IP: '192.168.0.2',
  SERVICE_ACCOUNT: 'reviews',
  ISTIO_META_TEAM: 'blue',
};

function input(mode: AgentMode, extra: Partial<BootstrapInput> = {}): BootstrapInput {
  const c = parseAgentConfig(mode, {}, env);
  return {
    node: nodeIdentity(c),
    adminPort: c.proxyAdminPort,
    statsPort: c.statsPort,
    sockets: c.sockets,
    connectTimeoutMs: c.connectTimeoutMs,
    ...extra,
  };
}

/** The bootstrap encoded with Envoy's protos and decoded back as Envoy's config dump shows it. */
function roundTrip(b: JsonObject): Record<string, unknown> {
  return messageToJson(BootstrapType, encodeProtoJson(BootstrapType, b));
}

function clusterNames(decoded: Record<string, unknown>): string[] {
  const sr = decoded['static_resources'] as { clusters: { name: string }[] };
  return sr.clusters.map((c) => c.name);
}

describe('agent bootstrap', () => {
  before(() => {
    loadAgentProtos();
  });

  const cases: { name: string; input: () => BootstrapInput; clusters: string[] }[] = [
    {
      name: 'sidecar, no tracing or statsd',
      input: () => input('sidecar'),
      clusters: [
        AgentCluster.Xds,
        AgentCluster.Sds,
        AgentCluster.Mixer,
        AgentCluster.PrometheusStats,
      ],
    },
    {
      name: 'router with zipkin and statsd',
      input: () =>
        input('router', {
          zipkin: { host: 'zipkin.istio-system', port: 9411 },
          statsd: { ip: '10.0.0.9', port: 9125 },
        }),
      clusters: [
        AgentCluster.Xds,
        AgentCluster.Sds,
        AgentCluster.Mixer,
        AgentCluster.PrometheusStats,
        AgentCluster.Zipkin,
      ],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: decodes against Envoy's Bootstrap with no unknown field`, () => {
      const decoded = roundTrip(buildBootstrap(c.input()));
      assert.deepEqual(clusterNames(decoded), c.clusters);
    });
  }

  it('node id and metadata follow Istio', () => {
    const d = roundTrip(buildBootstrap(input('sidecar')));
    const node = d['node'] as { id: string; cluster: string; metadata: Record<string, unknown> };
    assert.equal(node.id, 'sidecar~10.1.0.1~reviews-1.shop~shop.svc.cluster.local');
    assert.equal(node.cluster, 'istio-proxy');
    assert.equal(node.metadata['NAMESPACE'], 'shop');
    assert.equal(node.metadata['SERVICE_ACCOUNT'], 'reviews');
    assert.equal(node.metadata['INSTANCE_IPS'], '10.1.0.1');
    assert.equal(node.metadata['TEAM'], 'blue');
    const r = roundTrip(buildBootstrap(input('router')));
    assert.match((r['node'] as { id: string }).id, /^router~10\.1\.0\.1~reviews-1\.shop~/);
  });

  it('ADS goes to the agent over the XDS socket; admin stays on loopback', () => {
    const d = roundTrip(buildBootstrap(input('sidecar')));
    const dyn = d['dynamic_resources'] as Partial<Record<string, Record<string, unknown>>>;
    const ads = dyn['ads_config'] ?? {};
    assert.deepEqual(ads['grpc_services'], [{ envoy_grpc: { cluster_name: AgentCluster.Xds } }]);
    assert.equal(ads['transport_api_version'], 'V3');
    assert.deepEqual(dyn['cds_config']?.['ads'], {});
    const clusters = (d['static_resources'] as { clusters: Record<string, unknown>[] }).clusters;
    const xds = clusters.find((c) => c['name'] === AgentCluster.Xds);
    assert.deepEqual(xds?.['load_assignment'], {
      cluster_name: AgentCluster.Xds,
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { pipe: { path: '/etc/istio/proxy/XDS' } } } }] },
      ],
    });
    assert.deepEqual(d['admin'], {
      address: { socket_address: { address: '127.0.0.1', port_value: 15000 } },
    });
  });

  it('the 15090 listener routes /stats/prometheus to the admin port', () => {
    const d = roundTrip(buildBootstrap(input('sidecar')));
    const sr = d['static_resources'] as {
      listeners: Record<string, unknown>[];
      clusters: Record<string, unknown>[];
    };
    const [stats] = sr.listeners;
    assert.deepEqual(stats?.['address'], {
      socket_address: { address: '0.0.0.0', port_value: 15090 },
    });
    const text = JSON.stringify(stats);
    assert.match(text, /"prefix":"\/stats\/prometheus"/);
    assert.match(text, /"cluster":"prometheus_stats"/);
    const prom = sr.clusters.find((c) => c['name'] === AgentCluster.PrometheusStats);
    assert.match(JSON.stringify(prom), /"port_value":15000/);
  });

  it('zipkin tracing names a cluster that exists', () => {
    const d = roundTrip(
      buildBootstrap(input('sidecar', { zipkin: { host: 'zipkin.istio-system', port: 9411 } })),
    );
    const tracing = d['tracing'] as { http: { typed_config: Record<string, unknown> } };
    assert.equal(tracing.http.typed_config['collector_cluster'], AgentCluster.Zipkin);
    assert.equal(tracing.http.typed_config['collector_endpoint_version'], 'HTTP_JSON');
    assert.ok(clusterNames(d).includes(AgentCluster.Zipkin));
  });

  const refusals: { name: string; mutate: (b: JsonObject) => void; want: RegExp }[] = [
    {
      name: 'an unknown field',
      mutate: (b) => {
        (b['admin'] as JsonObject)['adress'] = {};
      },
      want: /Bootstrap\.admin\.adress: unknown field/,
    },
    {
      name: 'an unknown field inside an Any',
      mutate: (b) => {
        const sr = b['static_resources'] as { listeners: JsonObject[] };
        const filter = JSON.stringify(sr.listeners).replace('"stat_prefix"', '"stats_prefix"');
        sr.listeners = JSON.parse(filter) as JsonObject[];
      },
      want: /HttpConnectionManager>\.stats_prefix: unknown field/,
    },
    {
      name: 'a bad duration',
      mutate: (b) => {
        const sr = b['static_resources'] as { clusters: JsonObject[] };
        (sr.clusters[0] as JsonObject)['connect_timeout'] = '10 seconds';
      },
      want: /connect_timeout: a Duration must be/,
    },
    {
      name: 'two members of a oneof',
      mutate: (b) => {
        const sr = b['static_resources'] as { clusters: JsonObject[] };
        (sr.clusters[0] as JsonObject)['cluster_type'] = { name: 'x' };
      },
      want: /oneof cluster_discovery_type has more than one member/,
    },
  ];
  for (const r of refusals) {
    it(`the proto check refuses ${r.name}`, () => {
      const b = buildBootstrap(input('sidecar'));
      r.mutate(b);
      assert.throws(() => encodeProtoJson(BootstrapType, b), r.want);
    });
  }
});

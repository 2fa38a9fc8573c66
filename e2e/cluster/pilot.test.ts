/**
 * Pilot against a real API server: Services, EndpointSlices and Pods created here become clusters,
 * endpoints and listeners on a raw ADS stream; changes converge within a second.
 */
import assert from 'node:assert/strict';
import {
  CoreV1Api,
  DiscoveryV1Api,
  type V1EndpointSlice,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { anyToJson } from '../../lib/xds/json-view.ts';
import { encodeAny } from '../../lib/xds/discovery-wire.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RunningPilot } from '../../pilot/run.ts';
import { RawAdsClient, names, type RawResponse } from '../../pilot/testing/raw-ads-client.ts';
import { useLocalCluster } from './local-cluster.ts';
import { pilotReady, startKubePilot } from './pilot-support.ts';

function json(r: { typeUrl: string; value: Uint8Array }): Record<string, unknown> {
  return anyToJson(encodeAny(r.typeUrl, r.value));
}

function pod(name: string, labels: Record<string, string>, sa: string): V1Pod {
  return {
    metadata: { name, labels },
    spec: { serviceAccountName: sa, containers: [{ name: 'app', image: 'example/app:1' }] },
  };
}

function slice(
  service: string,
  name: string,
  ports: { name: string; port: number }[],
  eps: { ip: string; pod?: string; ready?: boolean; zone?: string }[],
  namespace: string,
): V1EndpointSlice {
  return {
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP' })),
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace } } : {}),
    })),
  };
}

describe('pilot on a real API server', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'pilot' });
  let pilot: RunningPilot;
  let core: CoreV1Api;
  let discovery: DiscoveryV1Api;
  const clients: RawAdsClient[] = [];

  before(async () => {
    core = env.kc.makeApiClient(CoreV1Api);
    discovery = env.kc.makeApiClient(DiscoveryV1Api);
    pilot = await startKubePilot(env.kc);
    await pilotReady(pilot);
  });

  after(async () => {
    for (const c of clients) c.close();
    await pilot.close();
  });

  function client(ip = '10.9.9.9'): RawAdsClient {
    const c = new RawAdsClient(
      `127.0.0.1:${pilot.xdsPort}`,
      `sidecar~${ip}~client.${env.namespace}~${env.namespace}.svc.cluster.local`,
    );
    clients.push(c);
    return c;
  }

  /** Reads responses (ACKing them) until `check` passes on the latest of `type`. */
  async function until(
    c: RawAdsClient,
    type: string,
    subs: () => string[],
    check: (r: RawResponse) => boolean,
    ms = 5000,
  ): Promise<RawResponse> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = await c.next(Math.max(1, deadline - Date.now()));
      c.ack(r, r.typeUrl === type ? subs() : []);
      if (r.typeUrl === type && check(r)) return r;
    }
  }

  it('turns a Service, its EndpointSlice and Pods into clusters, endpoints and routes', async () => {
    const ns = env.namespace;
    for (const [n, zone] of [
      ['web-1', 'a'],
      ['web-2', 'b'],
    ] as const) {
      await core.createNamespacedPod({
        namespace: ns,
        body: pod(n, { app: 'web', 'security.istio.io/tlsMode': 'istio', zone }, 'web-sa'),
      });
    }
    const svc: V1Service = {
      metadata: { name: 'web' },
      spec: {
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'grpc-api', port: 9000 },
        ],
      },
    };
    const created = await core.createNamespacedService({ namespace: ns, body: svc });
    const clusterIP = created.spec?.clusterIP ?? '';
    await discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: slice(
        'web',
        'web-abc',
        [
          { name: 'http', port: 8080 },
          { name: 'grpc-api', port: 9000 },
        ],
        [
          { ip: '10.244.0.11', pod: 'web-1', zone: 'a' },
          { ip: '10.244.0.12', pod: 'web-2', zone: 'b' },
          { ip: '10.244.0.13', ready: false },
        ],
        ns,
      ),
    });
    const host = `web.${ns}.svc.cluster.local`;
    const cluster = `outbound|80||${host}`;
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    const cds = await until(
      c,
      TypeUrl.Cluster,
      () => [],
      (r) => names(r).includes(cluster),
    );
    assert.ok(names(cds).includes(`outbound|9000||${host}`));
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [cluster] });
    // The first load assignment may predate the slice (the build raced the informers): wait for
    // one with both ready endpoints.
    const eds = await until(
      c,
      TypeUrl.ClusterLoadAssignment,
      () => [cluster],
      (r) =>
        r.resources.length > 0 && JSON.stringify(json(r.resources[0]!)).includes('10.244.0.12'),
    );
    const cla = json(eds.resources[0]!);
    const localities = cla['endpoints'] as {
      locality: unknown;
      lb_endpoints: { endpoint: unknown; metadata: unknown }[];
    }[];
    assert.deepEqual(
      localities.map((l) => l.locality),
      [{ zone: 'a' }, { zone: 'b' }],
    );
    assert.deepEqual(
      localities.map((l) => JSON.stringify(l.lb_endpoints[0]?.endpoint)),
      [
        JSON.stringify({
          address: { socket_address: { address: '10.244.0.11', port_value: 8080 } },
        }),
        JSON.stringify({
          address: { socket_address: { address: '10.244.0.12', port_value: 8080 } },
        }),
      ],
    );
    assert.match(JSON.stringify(localities[0]?.lb_endpoints[0]?.metadata), /"tlsMode":"istio"/);
    c.send({ typeUrl: TypeUrl.Listener });
    const lds = await until(
      c,
      TypeUrl.Listener,
      () => [],
      () => true,
    );
    assert.deepEqual(names(lds).sort(), ['virtualInbound', 'virtualOutbound']);
    c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: ['80'] });
    const rds = await until(
      c,
      TypeUrl.RouteConfiguration,
      () => ['80'],
      () => true,
    );
    const domains = JSON.stringify(json(rds.resources[0]!));
    assert.ok(domains.includes(`"${clusterIP}:80"`) && domains.includes(`"web:80"`), domains);

    // One endpoint goes away: every client holds the change within a second.
    const t0 = Date.now();
    await discovery.replaceNamespacedEndpointSlice({
      name: 'web-abc',
      namespace: ns,
      body: slice(
        'web',
        'web-abc',
        [
          { name: 'http', port: 8080 },
          { name: 'grpc-api', port: 9000 },
        ],
        [{ ip: '10.244.0.11', pod: 'web-1', zone: 'a' }],
        ns,
      ),
    });
    const after = await until(
      c,
      TypeUrl.ClusterLoadAssignment,
      () => [cluster],
      (r) => !JSON.stringify(json(r.resources[0]!)).includes('10.244.0.12'),
    );
    assert.ok(after);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 1000, `converged in ${elapsed} ms`);

    // The pod loses its sidecar: its endpoint is plaintext from now on.
    const p = await core.readNamespacedPod({ name: 'web-1', namespace: ns });
    p.metadata!.labels = { app: 'web' };
    await core.replaceNamespacedPod({ name: 'web-1', namespace: ns, body: p });
    await until(
      c,
      TypeUrl.ClusterLoadAssignment,
      () => [cluster],
      (r) => JSON.stringify(json(r.resources[0]!)).includes('"tlsMode":"disabled"'),
    );
  });

  it('gives a pod behind a service its inbound listener and clusters', async () => {
    const ns = env.namespace;
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'api' },
        spec: { ports: [{ name: 'http-api', port: 80, targetPort: 8081 }] },
      },
    });
    await discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: slice('api', 'api-1', [{ name: 'http-api', port: 8081 }], [{ ip: '10.244.1.5' }], ns),
    });
    const c = client('10.244.1.5');
    c.send({ typeUrl: TypeUrl.Cluster });
    await until(
      c,
      TypeUrl.Cluster,
      () => [],
      (r) => names(r).includes('inbound|8081||'),
    );
    c.send({ typeUrl: TypeUrl.Listener });
    const lds = await until(
      c,
      TypeUrl.Listener,
      () => [],
      () => true,
    );
    const inbound = lds.resources.map(json).find((l) => l['name'] === 'virtualInbound');
    assert.match(JSON.stringify(inbound), /"destination_port":\{"value":8081\}/);
  });

  it('reaches a headless service by pod address, and forgets a deleted service', async () => {
    const ns = env.namespace;
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'db' },
        spec: { clusterIP: 'None', ports: [{ name: 'mongo', port: 27017 }] },
      },
    });
    await discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: slice(
        'db',
        'db-1',
        [{ name: 'mongo', port: 27017 }],
        [{ ip: '10.244.2.1' }, { ip: '10.244.2.2' }],
        ns,
      ),
    });
    const cluster = `outbound|27017||db.${ns}.svc.cluster.local`;
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    const cds = await until(
      c,
      TypeUrl.Cluster,
      () => [],
      (r) => names(r).includes(cluster),
    );
    const db = cds.resources.map(json).find((x) => x['name'] === cluster);
    assert.equal(db?.['type'], 'ORIGINAL_DST');
    c.send({ typeUrl: TypeUrl.Listener });
    const outbound = (r: RawResponse) =>
      JSON.stringify(r.resources.map(json).find((l) => l['name'] === 'virtualOutbound'));
    const lds = await until(
      c,
      TypeUrl.Listener,
      () => [],
      (r) => outbound(r).includes('10.244.2.2'),
    );
    assert.ok(outbound(lds).includes('10.244.2.1') && outbound(lds).includes('mongo_proxy'));
    await core.deleteNamespacedService({ name: 'db', namespace: ns });
    await until(
      c,
      TypeUrl.Cluster,
      () => [],
      (r) => !names(r).includes(cluster),
    );
  });
});

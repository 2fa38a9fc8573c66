/**
 * Pilot on a real cluster: Services and Pods created here, the EndpointSlices Kubernetes' own
 * controller writes for them (zones from the simulated nodes, a pod held unready by a readiness
 * gate, a deleted pod's endpoint going away) become clusters, endpoints and listeners on a raw ADS
 * stream.
 */
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { anyToJson } from '../../lib/xds/json-view.ts';
import { encodeAny } from '../../lib/xds/discovery-wire.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RunningPilot } from '../../pilot/run.ts';
import { RawAdsClient, names, type RawResponse } from '../../pilot/testing/raw-ads-client.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { pilotReady, startKubePilot } from './pilot-support.ts';
import { ensureServiceAccount, runPod } from './pods.ts';

function json(r: { typeUrl: string; value: Uint8Array }): Record<string, unknown> {
  return anyToJson(encodeAny(r.typeUrl, r.value));
}

/** A pod on simulated node `node` (kwok-node-0 is in zone local-a, -1 in local-b, -2 in local-c). */
function pod(name: string, labels: Record<string, string>, sa: string, node?: number): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      serviceAccountName: sa,
      ...(node === undefined ? {} : { nodeName: `kwok-node-${String(node)}` }),
      containers: [{ name: 'app', image: 'example/app:1' }],
    },
  };
}

const ipOf = (p: V1Pod): string => p.status?.podIP ?? '';

describe('pilot on a real API server', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'pilot' });
  let pilot: RunningPilot;
  let core: CoreV1Api;
  const clients: RawAdsClient[] = [];

  before(async () => {
    core = env.kc.makeApiClient(CoreV1Api);
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
    const labels = { app: 'web', 'security.istio.io/tlsMode': 'istio' };
    const web1 = await runPod(env.kc, ns, pod('web-1', labels, 'web-sa', 0));
    const web2 = await runPod(env.kc, ns, pod('web-2', labels, 'web-sa', 1));
    // Held unready by a readiness gate nothing sets: in the slice, not ready.
    const gated = pod('web-3', labels, 'web-sa', 2);
    gated.spec!.readinessGates = [{ conditionType: 'example.com/warm' }];
    await core.createNamespacedPod({ namespace: ns, body: gated });
    const web3 = await eventually(async () => {
      const p = await core.readNamespacedPod({ name: 'web-3', namespace: ns });
      assert.equal(p.status?.phase, 'Running');
      return p;
    });
    const svc: V1Service = {
      metadata: { name: 'web' },
      spec: {
        selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'grpc-api', port: 9000 },
        ],
      },
    };
    const created = await core.createNamespacedService({ namespace: ns, body: svc });
    const clusterIP = created.spec?.clusterIP ?? '';
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
    // The first load assignment may predate the slice (the controller writes it after the
    // Service exists): wait for one with both ready endpoints.
    const eds = await until(
      c,
      TypeUrl.ClusterLoadAssignment,
      () => [cluster],
      (r) => {
        const text = r.resources.length > 0 ? JSON.stringify(json(r.resources[0]!)) : '';
        return text.includes(`"${ipOf(web1)}"`) && text.includes(`"${ipOf(web2)}"`);
      },
    );
    const cla = json(eds.resources[0]!);
    const localities = cla['endpoints'] as {
      locality: unknown;
      lb_endpoints: { endpoint: unknown; metadata: unknown }[];
    }[];
    assert.deepEqual(
      localities.map((l) => l.locality),
      [
        { region: 'local', zone: 'local-a' },
        { region: 'local', zone: 'local-b' },
      ],
    );
    assert.deepEqual(
      localities.map((l) => JSON.stringify(l.lb_endpoints[0]?.endpoint)),
      [web1, web2].map((p) =>
        JSON.stringify({ address: { socket_address: { address: ipOf(p), port_value: 8080 } } }),
      ),
    );
    assert.ok(!JSON.stringify(cla).includes(`"${ipOf(web3)}"`), 'the unready pod is left out');
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

    // A pod is deleted: the controller marks its endpoint terminating, then removes it; the
    // client loses it (bench:scale measures how fast, under churn).
    await core.deleteNamespacedPod({ name: 'web-2', namespace: ns });
    const after = await until(
      c,
      TypeUrl.ClusterLoadAssignment,
      () => [cluster],
      (r) => !JSON.stringify(json(r.resources[0]!)).includes(`"${ipOf(web2)}"`),
      30_000,
    );
    assert.ok(JSON.stringify(json(after.resources[0]!)).includes(`"${ipOf(web1)}"`));

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
        spec: {
          selector: { app: 'api' },
          ports: [{ name: 'http-api', port: 80, targetPort: 8081 }],
        },
      },
    });
    await ensureServiceAccount(env.kc, ns, 'api');
    const api = await runPod(env.kc, ns, pod('api-1', { app: 'api' }, 'api'));
    const c = client(ipOf(api));
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
        spec: {
          clusterIP: 'None',
          selector: { app: 'db' },
          ports: [{ name: 'mongo', port: 27017 }],
        },
      },
    });
    const dbIps = [
      await runPod(env.kc, ns, pod('db-1', { app: 'db' }, 'db')),
      await runPod(env.kc, ns, pod('db-2', { app: 'db' }, 'db')),
    ].map(ipOf);
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
      (r) => outbound(r).includes(`"${dbIps[1] ?? ''}"`),
    );
    assert.ok(
      outbound(lds).includes(`"${dbIps[0] ?? ''}"`) && outbound(lds).includes('mongo_proxy'),
    );
    await core.deleteNamespacedService({ name: 'db', namespace: ns });
    await until(
      c,
      TypeUrl.Cluster,
      () => [],
      (r) => !names(r).includes(cluster),
    );
  });
});

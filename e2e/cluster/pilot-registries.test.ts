/**
 * Pilot's Consul and Eureka registries against the real servers (Consul 1.14 in dev mode, a Spring
 * Cloud Eureka server), beside the Kubernetes registry of a real API server: registrations,
 * changes, failing health checks and deregistrations reach an ADS client; a RouteRule splits
 * traffic to a Consul service by its `version|vN` tags; a hostname two registries have is served
 * from the first and reported; a registry killed and restarted is caught up with; a server that
 * answers garbage gets a clear log line and no crash.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { applyObjects } from '../../lib/kube/apply.ts';
import type { JsonObject } from '../../lib/json.ts';
import { closeHttpServer, listenOn } from '../../lib/listen.ts';
import type { Logger } from '../../lib/log.ts';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { anyToJson } from '../../lib/xds/json-view.ts';
import { encodeAny } from '../../lib/xds/discovery-wire.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { MemoryRegistry } from '../../pilot/model/memory-registry.ts';
import { runPilot, type RunningPilot } from '../../pilot/run.ts';
import type { RegistrySpec } from '../../pilot/settings.ts';
import { RawAdsClient, names, type RawResponse } from '../../pilot/testing/raw-ads-client.ts';
import { TestConsul } from './consul-server.ts';
import { eventually } from './eventually.ts';
import { XdsClientProcess, startBackend } from './grpc-xds.ts';
import { TestEureka, hasJava } from './eureka-server.ts';
import { useLocalCluster } from './local-cluster.ts';
import { ensurePilotCrds } from './pilot-crds.ts';
import { runPod } from './pods.ts';

type Json = Record<string, unknown>;

function json(r: { typeUrl: string; value: Uint8Array }): Json {
  return anyToJson(encodeAny(r.typeUrl, r.value));
}

/**
 * A sidecar's view of Pilot over one ADS stream: every response is ACKed with the subscription
 * the test set for its type, and the resources it holds are kept by type and name (a CDS or LDS
 * response is the whole set; an EDS or RDS response may carry only the resources that changed).
 */
class SidecarView {
  readonly client: RawAdsClient;
  private readonly subs = new Map<string, readonly string[]>();
  private readonly held = new Map<string, Map<string, Json>>();
  private closed = false;

  constructor(address: string, nodeId: string) {
    this.client = new RawAdsClient(address, nodeId);
    void this.pump();
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      let r: RawResponse;
      try {
        r = await this.client.next(3_600_000);
      } catch {
        return;
      }
      const whole = r.typeUrl === TypeUrl.Cluster || r.typeUrl === TypeUrl.Listener;
      const held = whole
        ? new Map<string, Json>()
        : (this.held.get(r.typeUrl) ?? new Map<string, Json>());
      const list = names(r);
      r.resources.forEach((x, i) => held.set(list[i] ?? '', json(x)));
      this.held.set(r.typeUrl, held);
      this.client.ack(r, this.subs.get(r.typeUrl) ?? []);
    }
  }

  /** Subscribes (a wildcard for CDS and LDS when `names` is empty). */
  watch(typeUrl: string, resourceNames: readonly string[] = []): void {
    this.subs.set(typeUrl, resourceNames);
    this.client.send({ typeUrl, resourceNames });
  }

  /** The resources of a type the sidecar holds, by name, decoded. */
  resources(typeUrl: string): ReadonlyMap<string, Json> {
    return this.held.get(typeUrl) ?? new Map<string, Json>();
  }

  /** The addresses of a load assignment's endpoints (all localities), sorted. */
  addresses(cluster: string): string[] {
    const cla = this.resources(TypeUrl.ClusterLoadAssignment).get(cluster);
    const localities = (cla?.['endpoints'] ?? []) as {
      lb_endpoints?: { endpoint?: { address?: { socket_address?: { address?: string } } } }[];
    }[];
    return localities
      .flatMap((l) => l.lb_endpoints ?? [])
      .map((e) => e.endpoint?.address?.socket_address?.address ?? '')
      .sort();
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }
}

function quietLogger(): Logger {
  return pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
}

describe('pilot with real Consul and Eureka registries, beside Kubernetes', function () {
  this.timeout(240_000);
  const env = useLocalCluster({ namespacePrefix: 'registries' });
  const consul = new TestConsul();
  const eureka = new TestEureka();
  let pilot: RunningPilot;
  let sidecar: SidecarView;
  const http = (path: string) => `http://127.0.0.1:${String(pilot.httpPort)}${path}`;
  const getJson = async <T>(path: string) => (await (await fetch(http(path))).json()) as T;

  interface Registryz {
    registries: { name: string; state: string; lastError: string | null; services: number }[];
    conflicts: { hostname: string; served: string; ignored: string[] }[];
    status: string[];
  }
  const registry = async (name: string) =>
    (await getJson<Registryz>('/debug/registryz')).registries.find((r) => r.name === name);
  const servedHosts = async () =>
    (await getJson<{ services: { hostname: string }[] }>('/debug/configz')).services.map(
      (s) => s.hostname,
    );

  before(async function () {
    // The Eureka server is a Spring Boot jar: it needs Java, which npm test installs as root
    // (scripts/test-setup.sh, openjdk-17-jdk-headless) before it runs this suite.
    if (!hasJava()) this.skip();
    await Promise.all([consul.start(), eureka.start()]);
    await ensurePilotCrds(env.kc);
    const registries: RegistrySpec[] = [
      { kind: 'Kubernetes' },
      { kind: 'Consul', url: consul.url },
      { kind: 'Eureka', url: eureka.url, pollMs: 200 },
    ];
    pilot = await runPilot({
      logger: quietLogger(),
      mesh: defaultMeshConfig,
      kc: env.kc,
      registries,
      registryRetry: { initialMs: 100, maxMs: 1000 },
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      httpHost: '127.0.0.1',
      httpPort: 0,
      debounceMs: 20,
      debounceMaxMs: 200,
      domain: 'cluster.local',
    });
    await eventually(
      async () => {
        const r = await fetch(http('/ready'));
        assert.equal(r.status, 200, await r.text());
      },
      { timeoutMs: 30_000 },
    );
    sidecar = new SidecarView(
      `127.0.0.1:${String(pilot.xdsPort)}`,
      `sidecar~10.99.0.1~client.${env.namespace}~${env.namespace}.svc.cluster.local`,
    );
    sidecar.watch(TypeUrl.Cluster);
    sidecar.watch(TypeUrl.Listener);
  });

  after(async () => {
    sidecar.close();
    await pilot.close();
    await Promise.all([consul.remove(), eureka.remove()]);
  });

  const reviews = 'outbound|9080||reviews.service.consul';

  it('a Consul registration, change, failing check and deregistration reach a sidecar', async () => {
    sidecar.watch(TypeUrl.ClusterLoadAssignment, [reviews]);
    const t0 = Date.now();
    await consul.registerCatalog({
      node: 'vm-1',
      nodeAddress: '10.10.0.1',
      service: { name: 'reviews', id: 'reviews-1', address: '', port: 9080, tags: ['version|v1'] },
    });
    await eventually(() => {
      assert.ok(sidecar.resources(TypeUrl.Cluster).has(reviews));
      assert.deepEqual(sidecar.addresses(reviews), ['10.10.0.1']);
    });
    const registered = Date.now() - t0;
    assert.ok(registered < 1000, `a new service reached the sidecar in ${String(registered)} ms`);
    // A service outside Kubernetes is balanced over its endpoints.
    assert.equal(sidecar.resources(TypeUrl.Cluster).get(reviews)?.['type'], 'EDS');

    const t1 = Date.now();
    await consul.registerCatalog({
      node: 'vm-2',
      nodeAddress: '10.10.0.2',
      nodeMeta: { protocol: 'http' },
      service: {
        name: 'reviews',
        id: 'reviews-2',
        address: '10.10.0.22',
        port: 9080,
        tags: ['version|v2'],
      },
    });
    await eventually(() => {
      assert.deepEqual(sidecar.addresses(reviews), ['10.10.0.1', '10.10.0.22']);
    });
    const added = Date.now() - t1;
    assert.ok(added < 1000, `a new instance reached the sidecar in ${String(added)} ms`);

    // Its check fails: out of EDS; passes again: back.
    const failing = async (status: 'critical' | 'passing') =>
      consul.registerCatalog({
        node: 'vm-2',
        nodeAddress: '10.10.0.2',
        service: {
          name: 'reviews',
          id: 'reviews-2',
          address: '10.10.0.22',
          port: 9080,
          tags: ['version|v2'],
        },
        checks: [{ checkId: 'service:reviews-2', status }],
      });
    await failing('critical');
    await eventually(() => {
      assert.deepEqual(sidecar.addresses(reviews), ['10.10.0.1']);
    });
    await failing('passing');
    await eventually(() => {
      assert.deepEqual(sidecar.addresses(reviews), ['10.10.0.1', '10.10.0.22']);
    });

    const t2 = Date.now();
    await consul.deregisterCatalog('vm-1', 'reviews-1');
    await eventually(() => {
      assert.deepEqual(sidecar.addresses(reviews), ['10.10.0.22']);
    });
    const removed = Date.now() - t2;
    assert.ok(removed < 1000, `a deregistration reached the sidecar in ${String(removed)} ms`);
    // Back to two instances for the next test.
    await consul.registerCatalog({
      node: 'vm-1',
      nodeAddress: '10.10.0.1',
      service: { name: 'reviews', id: 'reviews-1', address: '', port: 9080, tags: ['version|v1'] },
    });
    await eventually(() => {
      assert.deepEqual(sidecar.addresses(reviews), ['10.10.0.1', '10.10.0.22']);
    });
  });

  it('a RouteRule splits traffic to the Consul service by its version tags', async () => {
    const rule: JsonObject = {
      apiVersion: 'config.istio.io/v1alpha2',
      kind: 'RouteRule',
      metadata: { name: 'reviews-consul', namespace: env.namespace },
      spec: {
        destination: { service: 'reviews.service.consul' },
        route: [
          { labels: { version: 'v1' }, weight: 80 },
          { labels: { version: 'v2' }, weight: 20 },
        ],
      },
    };
    await applyObjects(env.kc, [rule], 'pilot-registries-e2e');
    const v1 = 'outbound|9080|version=v1|reviews.service.consul';
    const v2 = 'outbound|9080|version=v2|reviews.service.consul';
    sidecar.watch(TypeUrl.ClusterLoadAssignment, [reviews, v1, v2]);
    sidecar.watch(TypeUrl.RouteConfiguration, ['9080']);
    await eventually(() => {
      assert.deepEqual(sidecar.addresses(v1), ['10.10.0.1']);
      assert.deepEqual(sidecar.addresses(v2), ['10.10.0.22']);
      const rc = sidecar.resources(TypeUrl.RouteConfiguration).get('9080');
      const vh = ((rc?.['virtual_hosts'] ?? []) as Json[]).find(
        (h) => h['name'] === 'reviews.service.consul:9080',
      );
      assert.ok(vh, 'virtual host reviews.service.consul:9080');
      assert.deepEqual(vh['domains'], ['reviews.service.consul', 'reviews.service.consul:9080']);
      const routes = vh['routes'] as { route?: { weighted_clusters?: { clusters: Json[] } } }[];
      const weighted = routes[0]?.route?.weighted_clusters?.clusters ?? [];
      assert.deepEqual(
        weighted.map((c) => [c['name'], (c['weight'] as { value: number }).value]),
        [
          [v1, 80],
          [v2, 20],
        ],
      );
    });
  });

  it('a proxyless gRPC client calls a gRPC service registered in Consul', async () => {
    const backend = await startBackend('consul-echo', '127.0.0.1');
    let client: XdsClientProcess | undefined;
    try {
      await consul.registerCatalog({
        node: 'vm-echo',
        nodeAddress: '127.0.0.1',
        service: {
          name: 'echo',
          id: 'echo-1',
          address: '127.0.0.1',
          port: backend.port,
          meta: { protocol: 'grpc' },
        },
      });
      client = new XdsClientProcess({
        xdsPort: pilot.xdsPort,
        target: `xds:///echo.service.consul:${String(backend.port)}`,
        nodeId: `sidecar~127.0.0.1~grpc-client.${env.namespace}~${env.namespace}.svc.cluster.local`,
        intervalMs: 20,
      });
      const c = client;
      await eventually(
        () => {
          assert.ok(
            c.results.some((r) => r.ok && r.backend === 'consul-echo'),
            c.stderr.slice(-5).join('\n'),
          );
        },
        { timeoutMs: 20_000 },
      );
    } finally {
      await client?.stop();
      await backend.close();
      await consul.deregisterCatalog('vm-echo');
    }
  });

  it('Eureka’s UP instances reach the sidecar; out of service or cancelled, they leave', async () => {
    const ratings = 'outbound|9080||ratings.eureka.test';
    sidecar.watch(TypeUrl.ClusterLoadAssignment, [ratings]);
    const t0 = Date.now();
    await eureka.register({
      app: 'ratings',
      instanceId: 'ratings-1',
      hostName: 'ratings.eureka.test',
      ipAddr: '10.20.0.1',
      port: 9080,
      metadata: { 'istio.protocol': 'http', version: 'v1' },
    });
    await eureka.register({
      app: 'ratings',
      instanceId: 'ratings-2',
      hostName: 'ratings.eureka.test',
      ipAddr: '10.20.0.2',
      port: 9080,
      metadata: { 'istio.protocol': 'http', version: 'v2' },
    });
    // Two registrations in a row can race Eureka's own response cache (see eureka-server.ts,
    // which bounds it to a second); the wait is long enough for a slow first start, and the
    // time is said below.
    await eventually(
      () => {
        assert.deepEqual(sidecar.addresses(ratings), ['10.20.0.1', '10.20.0.2']);
      },
      { timeoutMs: 45_000 },
    );
    // Polled every 200 ms here, and Eureka's 30 s read-only cache is off: under 25 s even on a
    // loaded machine (a bound, not a speed figure; bench:registries measures the delay).
    assert.ok(Date.now() - t0 < 25_000, `took ${String(Date.now() - t0)} ms`);
    await eureka.setStatus('ratings', 'ratings-2', 'OUT_OF_SERVICE');
    await eventually(() => {
      assert.deepEqual(sidecar.addresses(ratings), ['10.20.0.1']);
    });
    await eureka.clearStatus('ratings', 'ratings-2');
    await eventually(() => {
      assert.deepEqual(sidecar.addresses(ratings), ['10.20.0.1', '10.20.0.2']);
    });
    await eureka.deregister('ratings', 'ratings-2');
    await eventually(() => {
      assert.deepEqual(sidecar.addresses(ratings), ['10.20.0.1']);
    });
    const rds = sidecar.resources(TypeUrl.RouteConfiguration).get('9080');
    assert.match(JSON.stringify(rds), /ratings\.eureka\.test:9080/);
  });

  it('serves Kubernetes, Consul and Eureka at once; a hostname in two comes from the first', async () => {
    const ns = env.namespace;
    const host = `web.${ns}.svc.cluster.local`;
    // A pod the scheduler and kwok run, and a Service selecting it (Kubernetes writes the slice).
    const pod = await runPod(env.kc, ns, {
      metadata: { name: 'web-1', labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'web:1' }] },
    });
    const webIp = pod.status?.podIP ?? '';
    await env.kc.makeApiClient(CoreV1Api).createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    // Eureka claims the Kubernetes service's hostname too.
    await eureka.register({
      app: 'web',
      instanceId: 'web-eureka',
      hostName: host,
      ipAddr: '10.20.9.9',
      port: 80,
    });
    const web = `outbound|80||${host}`;
    sidecar.watch(TypeUrl.ClusterLoadAssignment, [web, reviews]);
    await eventually(async () => {
      const clusters = sidecar.resources(TypeUrl.Cluster);
      for (const c of [web, reviews, 'outbound|9080||ratings.eureka.test']) {
        assert.ok(clusters.has(c), c);
      }
      assert.deepEqual(sidecar.addresses(web), [webIp]);
      assert.deepEqual(sidecar.addresses(reviews), ['10.10.0.1', '10.10.0.22']);
      const z = await getJson<Registryz>('/debug/registryz');
      assert.deepEqual(
        z.conflicts.filter((c) => c.hostname === host),
        [{ hostname: host, served: 'Kubernetes', ignored: ['Eureka'] }],
      );
      assert.ok(z.status.some((l) => l.startsWith(`${host}: in Kubernetes and Eureka`)));
    });
    const metrics = await (await fetch(http('/metrics'))).text();
    assert.match(metrics, /pilot_registry_conflicts [1-9]/);
    await eureka.deregister('web', 'web-eureka');
  });

  it('keeps serving a Consul that was killed, and catches up once it is back', async () => {
    await consul.stop();
    await eventually(async () => {
      const c = await registry('Consul');
      assert.equal(c?.state, 'down');
      assert.match(c.lastError ?? '', /cannot connect/);
    });
    // Still ready, still serving Consul's last view; Kubernetes and Eureka keep flowing.
    const ready = await fetch(http('/ready'));
    assert.equal(ready.status, 200);
    assert.match(await ready.text(), /Consul \(http:\/\/127\.0\.0\.1:\d+\): down/);
    assert.ok((await servedHosts()).includes('reviews.service.consul'));
    assert.deepEqual(sidecar.addresses(reviews), ['10.10.0.1', '10.10.0.22']);
    await eureka.register({
      app: 'details',
      instanceId: 'details-1',
      hostName: 'details.eureka.test',
      ipAddr: '10.20.1.1',
      port: 9080,
    });
    await eventually(() => {
      assert.ok(sidecar.resources(TypeUrl.Cluster).has('outbound|9080||details.eureka.test'));
    });

    // A dev agent comes back empty: its catalog is what is registered after the restart.
    await consul.start();
    await consul.registerCatalog({
      node: 'vm-3',
      nodeAddress: '10.10.0.3',
      service: { name: 'reviews', id: 'reviews-3', address: '', port: 9080, tags: ['version|v3'] },
    });
    await eventually(
      async () => {
        assert.equal((await registry('Consul'))?.state, 'synced');
        assert.deepEqual(sidecar.addresses(reviews), ['10.10.0.3']);
      },
      { timeoutMs: 20_000 },
    );
  });

  it('keeps serving a Eureka that was killed, and catches up once it is back', async () => {
    await eureka.stop();
    await eventually(async () => {
      assert.equal((await registry('Eureka'))?.state, 'down');
    });
    assert.equal((await fetch(http('/ready'))).status, 200);
    assert.ok((await servedHosts()).includes('ratings.eureka.test'));
    await eureka.start();
    await eureka.register({
      app: 'ratings',
      instanceId: 'ratings-9',
      hostName: 'ratings.eureka.test',
      ipAddr: '10.20.0.9',
      port: 9080,
    });
    const ratings = 'outbound|9080||ratings.eureka.test';
    sidecar.watch(TypeUrl.ClusterLoadAssignment, [ratings]);
    await eventually(
      async () => {
        assert.equal((await registry('Eureka'))?.state, 'synced');
        assert.deepEqual(sidecar.addresses(ratings), ['10.20.0.9']);
      },
      { timeoutMs: 20_000 },
    );
  });
});

describe('pilot with a registry that answers garbage', function () {
  this.timeout(60_000);

  it('logs a line naming the registry, the URL and what was wrong, and keeps running', async () => {
    let garbage = true;
    const server = createServer((req, res) => {
      if (garbage) {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>proxy error</body>');
        return;
      }
      // An empty Consul: no services (an object), no checks and no nodes (lists).
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '5' });
      res.end(req.url?.startsWith('/v1/catalog/services') === true ? '{}' : '[]');
    });
    const port = await listenOn(server, 0, '127.0.0.1');
    const lines: Json[] = [];
    const logger = pino(
      { level: 'warn' },
      {
        write: (s: string) => {
          lines.push(JSON.parse(s) as Json);
        },
      },
    );
    const pilot = await runPilot({
      logger,
      mesh: defaultMeshConfig,
      registry: new MemoryRegistry(),
      registries: [
        { kind: 'Kubernetes' },
        { kind: 'Consul', url: `http://127.0.0.1:${String(port)}` },
      ],
      registryRetry: { initialMs: 50, maxMs: 200 },
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      httpHost: '127.0.0.1',
      httpPort: 0,
      debounceMs: 10,
      debounceMaxMs: 50,
      domain: 'cluster.local',
    });
    try {
      const base = `http://127.0.0.1:${String(pilot.httpPort)}`;
      const url = `http://127.0.0.1:${String(port)}/v1/catalog/services`;
      await eventually(() => {
        assert.ok(lines.length > 0);
      });
      // One warning, however many retries.
      await new Promise((r) => setTimeout(r, 500));
      const warnings = lines.filter((l) => l['registry'] === 'Consul');
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      const w = warnings[0];
      assert.ok(w);
      assert.equal(w['msg'], 'Consul registry failing before its first sync: retrying');
      assert.equal(
        w['err'],
        `Consul ${url}: the answer is not JSON (text/html): <html><body>proxy error</body>`,
      );
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const ready = await fetch(`${base}/ready`);
      assert.equal(ready.status, 503);
      assert.match(await ready.text(), /Consul registry not synced yet: .*the answer is not JSON/);
      // Consul makes sense again: Pilot is ready without a restart.
      garbage = false;
      await eventually(async () => {
        assert.equal((await fetch(`${base}/ready`)).status, 200);
      });
    } finally {
      await pilot.close();
      await closeHttpServer(server);
    }
  });
});

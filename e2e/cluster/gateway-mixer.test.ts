/**
 * Policies and telemetry at the ingress gateway: a real cluster (pods the scheduler and kwok run,
 * Services whose EndpointSlices Kubernetes' controller writes, an Ingress of class istio, Mixer's
 * CRDs), real Pilot, real Mixer watching both, and the real agent in router mode between them and a stand-in Envoy
 * (gateway-envoy.ts) that acts on exactly the listener, routes and endpoints Pilot sent.
 *
 * - A Mixer rule matching `context.reporter.kind == "outbound" && source.labels["istio"] ==
 *   "ingress"` denies /api/admin at the gateway: 403, and the backend (a pod with no sidecar, a
 *   real HTTP server) never sees the request. Other paths reach it.
 * - A rule on `origin.ip` refuses one client outside the mesh.
 * - Every request through the gateway, allowed or denied, is reported: Mixer's prometheus adapter
 *   counts it with the reporter's kind and uid, the gateway as source (its pod's uid and labels,
 *   which Mixer finds from the address the agent gives), the client as origin, and the backend
 *   service and pod as destination.
 * - A TCP connection through the gateway (network ext_authz and tcp_proxy access log, as Envoy
 *   sends them) is checked and reported the same way.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parseAgentConfig } from '../../agent/settings.ts';
import { runAgent, type RunningAgent } from '../../agent/run.ts';
import { EnvoyLikeClient } from '../../agent/testing/envoy-like-client.ts';
import { EnvoyMixerClient } from '../../agent/testing/envoy-mixer-client.ts';
import { loadAgentProtos } from '../../agent/testing/envoy-protos.ts';
import { testLeaf, testRoot, writeCertFiles } from '../../agent/testing/workload-certs.ts';
import { freePort } from '../../lib/free-ports.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import { createLogger } from '../../lib/log.ts';
import { encodeMessage } from '../../lib/xds/protos.ts';
import type { RunningMixer } from '../../mixer/run.ts';
import type { RunningPilot } from '../../pilot/run.ts';
import { eventually } from './eventually.ts';
import { GatewayEnvoy } from './gateway-envoy.ts';
import { useLocalCluster } from './local-cluster.ts';
import { runPod } from './pods.ts';
import { installMixerCrds, startKubeMixer } from './mixer-support.ts';
import { startKubePilot } from './pilot-support.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
/**
 * The gateway pod's IP (the stand-in plays its Envoy) and the backend pod's (its server listens on
 * loopback; the stand-in's network maps the pod's address there: the API server refuses loopback
 * endpoint addresses). The cluster gives them, as a kubelet reports them.
 */
let gatewayIp = '';
let backendIp = '';
const client = '203.0.113.7';
const blocked = '203.0.113.66';

describe('gateway policies and telemetry: Mixer at the ingress gateway (HTTP and TCP)', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ namespacePrefix: 'gw-mixer' });
  const ns = () => env.namespace;
  let root = '';
  let pilot: RunningPilot | undefined;
  let mixer: RunningMixer | undefined;
  let agent: RunningAgent | undefined;
  let xds: EnvoyLikeClient | undefined;
  let mixerClient: EnvoyMixerClient | undefined;
  let envoy: GatewayEnvoy;
  let backend: Server | undefined;
  const backendSeen: string[] = [];

  /** Runs the pod (scheduled onto a simulated node) and returns its IP. */
  async function pod(name: string, labels: Record<string, string>): Promise<string> {
    const p = await runPod(env.kc, ns(), {
      metadata: { name, labels },
      spec: { serviceAccountName: name, containers: [{ name: 'app', image: 'app:1' }] },
    });
    return p.status?.podIP ?? '';
  }

  /** A Service selecting `app: NAME`; Kubernetes' EndpointSlice controller writes its slice. */
  async function service(name: string, port: number, targetPort: number) {
    await env.kc.makeApiClient(CoreV1Api).createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name },
        spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort }] },
      },
    });
  }

  async function mixerConfig(): Promise<void> {
    const meta = (name: string) => ({ name, namespace: ns() });
    const v = 'config.istio.io/v1alpha2';
    await applyObjects(
      env.kc,
      [
        { apiVersion: v, kind: 'denier', metadata: meta('gwdeny'), spec: {} },
        { apiVersion: v, kind: 'checknothing', metadata: meta('gwcheck'), spec: {} },
        {
          apiVersion: v,
          kind: 'rule',
          metadata: meta('admin-closed-at-ingress'),
          spec: {
            match:
              'context.reporter.kind == "outbound" && source.labels["istio"] == "ingress" && match(request.path, "/api/admin*")',
            actions: [{ handler: 'gwdeny.denier', instances: ['gwcheck.checknothing'] }],
          },
        },
        {
          apiVersion: v,
          kind: 'rule',
          metadata: meta('blocked-client'),
          spec: {
            match: `origin.ip == ip("${blocked}")`,
            actions: [{ handler: 'gwdeny.denier', instances: ['gwcheck.checknothing'] }],
          },
        },
        {
          apiVersion: v,
          kind: 'metric',
          metadata: meta('gwrequests'),
          spec: {
            value: '1',
            dimensions: {
              reporter_kind: 'context.reporter.kind | "none"',
              reporter_uid: 'context.reporter.uid | "none"',
              source_uid: 'source.uid | "none"',
              source_gateway: 'source.labels["istio"] | "none"',
              origin: 'origin.ip | ip("0.0.0.0")',
              destination_service: 'destination.service | "unknown"',
              destination_app: 'destination.labels["app"] | "none"',
              protocol: 'context.protocol | "none"',
              response_code: 'response.code | 0',
            },
          },
        },
        {
          apiVersion: v,
          kind: 'prometheus',
          metadata: meta('gwprom'),
          spec: {
            metrics: [
              {
                name: 'gateway_e2e_requests',
                instance_name: `gwrequests.metric.${ns()}`,
                kind: 'COUNTER',
                label_names: [
                  'reporter_kind',
                  'reporter_uid',
                  'source_uid',
                  'source_gateway',
                  'origin',
                  'destination_service',
                  'destination_app',
                  'protocol',
                  'response_code',
                ],
              },
            ],
          },
        },
        {
          apiVersion: v,
          kind: 'rule',
          metadata: meta('gwtelemetry'),
          spec: { actions: [{ handler: 'gwprom.prometheus', instances: ['gwrequests.metric'] }] },
        },
      ],
      'gw-mixer-e2e',
    );
  }

  before(async () => {
    loadAgentProtos();
    root = mkdtempSync(join(tmpdir(), 'gw-mixer-'));
    const backendPort = await freePort();
    backend = createServer((req, res) => {
      backendSeen.push(req.url ?? '');
      res.end(`reviews says hi to ${req.url ?? ''}`);
    });
    await new Promise<void>((r) => backend?.listen(backendPort, '127.0.0.1', r));

    await installMixerCrds(env.kc, 'gw-mixer-e2e');
    // The ingress gateway pod (the chart's labels) and a backend pod without a sidecar.
    gatewayIp = await pod('istio-ingress-1', { app: 'istio-ingress', istio: 'ingress' });
    backendIp = await pod('reviews-1', { app: 'reviews', 'sidecar.istio.io/inject': 'false' });
    await service('istio-ingress', 80, 8080);
    await service('reviews', 9080, 9080);
    await env.kc.makeApiClient(NetworkingV1Api).createNamespacedIngress({
      namespace: ns(),
      body: {
        metadata: { name: 'shop' },
        spec: {
          ingressClassName: 'istio',
          rules: [
            {
              host: 'shop.example.com',
              http: {
                paths: [
                  {
                    path: '/api',
                    pathType: 'Prefix',
                    backend: { service: { name: 'reviews', port: { number: 9080 } } },
                  },
                ],
              },
            },
          ],
        },
      },
    });
    await mixerConfig();
    // Rules in the config default namespace apply to every request (here: this namespace).
    mixer = await startKubeMixer({
      kc: env.kc,
      logger: createLogger('mixer', { level: process.env['LOG_LEVEL'] ?? 'silent' }),
      instance: 'gw-mixer-e2e',
      configDefaultNamespace: ns(),
    });
    const pilotPort = await freePort();
    pilot = await startKubePilot(env.kc, pilotPort);

    mkdirSync(join(root, 'certs'));
    writeCertFiles(join(root, 'certs'), testLeaf(testRoot(), ns(), 'istio-ingress'));
    const config = parseAgentConfig(
      'router',
      {
        configPath: root,
        certsDir: join(root, 'certs'),
        startEnvoy: 'false',
        statusPort: '0',
        readinessPort: '0',
        discoveryAddress: `127.0.0.1:${String(pilotPort)}`,
        mixerAddress: `127.0.0.1:${String(mixer.grpcPort)}`,
        serviceCluster: 'istio-ingress',
      },
      { POD_NAME: 'istio-ingress-1', POD_NAMESPACE: ns(), INSTANCE_IP: gatewayIp },
    );
    agent = await runAgent({ config, logger, listenHost: '127.0.0.1', reportDelayMs: 100 });
    xds = new EnvoyLikeClient({
      target: `unix:${config.sockets.xds}`,
      nodeId: `router~${gatewayIp}~istio-ingress-1.${ns()}~${ns()}.svc.cluster.local`,
      reconnectMs: 200,
    });
    xds.start();
    mixerClient = new EnvoyMixerClient(`unix:${config.sockets.mixer}`);
    envoy = new GatewayEnvoy(xds, mixerClient, gatewayIp, (ip, port) => {
      assert.equal(`${ip}:${String(port)}`, `${backendIp}:9080`, 'the only pod with a server');
      return `127.0.0.1:${String(backendPort)}`;
    });
    // The gateway is ready once it holds Pilot's full config: its ingress listener and routes.
    await eventually(
      async () => {
        const r = await fetch(`http://127.0.0.1:${String(agent?.readinessPort)}/healthz/ready`);
        assert.equal(r.status, 200, await r.text());
        assert.ok(envoy.hcm(8080));
      },
      { timeoutMs: 30_000 },
    );
  });

  after(async () => {
    xds?.close();
    mixerClient?.close();
    await agent?.shutdown('test over');
    await pilot?.close();
    await mixer?.close();
    await new Promise((r) => backend?.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  async function series(): Promise<Map<string, number>> {
    const text = await (
      await fetch(`http://127.0.0.1:${String(mixer?.monitoringPort)}/metrics`)
    ).text();
    const out = new Map<string, number>();
    for (const m of text.matchAll(/^(?:mixer_)?gateway_e2e_requests(?:_total)?\{(.*)\} (\S+)$/gm))
      out.set(m[1] ?? '', Number(m[2]));
    return out;
  }

  it("Pilot gives the gateway's listener ext_authz and an access log, and each route its backend", () => {
    const hcm = envoy.hcm(8080);
    const filters = (hcm['http_filters'] as { name: string }[]).map((f) => f.name);
    assert.ok(filters.includes('envoy.filters.http.ext_authz'), filters.join(', '));
    assert.ok(JSON.stringify(hcm['access_log']).includes('"context.reporter.kind"'));
  });

  it('denies /api/admin at the gateway by a Mixer rule; the sidecar-less backend never sees it', async () => {
    const host = 'shop.example.com';
    const denied = await envoy.request({
      port: 8080,
      host,
      path: '/api/admin/users',
      clientIp: client,
    });
    assert.equal(denied.status, 403, denied.body);
    assert.equal(denied.forwarded, false);
    const ok = await envoy.request({ port: 8080, host, path: '/api/reviews/1', clientIp: client });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.body, 'reviews says hi to /api/reviews/1');
    const refused = await envoy.request({ port: 8080, host, path: '/api/x', clientIp: blocked });
    assert.equal(refused.status, 403, 'the blocked client, by origin.ip');
    assert.deepEqual(backendSeen, ['/api/reviews/1'], 'only the allowed request reached it');
  });

  it('reports every request through the gateway with who reported, the origin and the backend', async () => {
    const uid = `kubernetes://istio-ingress-1.${ns()}`;
    const svc = `reviews.${ns()}.svc.cluster.local`;
    const labels = (origin: string, code: number, app: string) =>
      `reporter_kind="outbound",reporter_uid="${uid}",source_uid="${uid}",source_gateway="ingress",origin="${origin}",destination_service="${svc}",destination_app="${app}",protocol="http",response_code="${String(code)}"`;
    await eventually(async () => {
      const s = await series();
      const dump = [...s].map(([k, n]) => `${k} ${String(n)}`).join('\n');
      assert.equal(s.get(labels(client, 200, 'reviews')), 1, dump);
      // Denied before routing to an endpoint: the service is known, the pod is not.
      assert.equal(s.get(labels(client, 403, 'none')), 1, dump);
      assert.equal(s.get(labels(blocked, 403, 'none')), 1, dump);
    });
  });

  it('checks and reports a TCP connection through the gateway (network ext_authz, tcp_proxy log)', async () => {
    const sock = (address: string, port: number) => ({
      socket_address: { address, port_value: port },
    });
    const checkTcp = (from: string) =>
      mixerClient!.checkBytes(
        encodeMessage('envoy.service.auth.v3.CheckRequest', {
          attributes: {
            source: { address: sock(from, 41000) },
            destination: { address: sock(gatewayIp, 3306) },
            context_extensions: {
              'context.reporter.kind': 'outbound',
              'destination.service': `reviews.${ns()}.svc.cluster.local`,
            },
          },
        }),
      );
    assert.equal((await checkTcp(client)).code, 0);
    const refused = await checkTcp(blocked);
    assert.equal(refused.code, 7, refused.message);
    assert.equal(refused.httpStatus, undefined, 'a network filter gets a status, no HTTP response');
    await mixerClient!.accessLogs([
      {
        identifier: { node: { id: `router~${gatewayIp}~gw` }, log_name: 'stand-in' },
        tcp_logs: {
          log_entry: [
            {
              common_properties: {
                downstream_remote_address: sock(client, 41000),
                downstream_local_address: sock(gatewayIp, 3306),
                upstream_remote_address: sock(backendIp, 9080),
                upstream_cluster: `outbound|3306||reviews.${ns()}.svc.cluster.local`,
                custom_tags: { 'context.reporter.kind': 'outbound' },
              },
              connection_properties: { received_bytes: 100, sent_bytes: 2000 },
            },
          ],
        },
      },
    ]);
    const uid = `kubernetes://istio-ingress-1.${ns()}`;
    await eventually(async () => {
      const s = await series();
      const key = `reporter_kind="outbound",reporter_uid="${uid}",source_uid="${uid}",source_gateway="ingress",origin="${client}",destination_service="reviews.${ns()}.svc.cluster.local",destination_app="reviews",protocol="tcp",response_code="0"`;
      assert.equal(s.get(key), 1, [...s.keys()].join('\n'));
    });
  });
});

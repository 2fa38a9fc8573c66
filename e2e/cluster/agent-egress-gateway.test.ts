/**
 * The egress gateway, like the ingress gateway (agent-gateway.test.ts), is never ready without
 * Pilot: the agent in router mode (Envoy supervised as a stand-in binary, an Envoy-like ADS client
 * on its XDS socket) behind `istio-egress` (two gateway pods the scheduler and kwok run, their
 * slice written by Kubernetes), with an EgressRule routed through it, on a real cluster.
 *
 * - Started while Pilot is down: not ready, saying Pilot's config is missing.
 * - Pilot starts: ready only after Pilot is, and once it has ACKed the egress listener and route.
 * - Pilot stopped (scaled to zero): the running replica stays ready (Envoy keeps serving the
 *   config it holds, as Envoy does), but a replica started now stays unready until Pilot is back,
 *   then turns ready.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parseAgentConfig } from '../../agent/settings.ts';
import { runAgent, type RunningAgent } from '../../agent/run.ts';
import { EnvoyLikeClient } from '../../agent/testing/envoy-like-client.ts';
import { loadAgentProtos } from '../../agent/testing/envoy-protos.ts';
import { writeFakeEnvoy } from '../../agent/testing/fake-envoy.ts';
import { testLeaf, testRoot, writeCertFiles } from '../../agent/testing/workload-certs.ts';
import { freePort } from '../../lib/free-ports.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RunningPilot } from '../../pilot/run.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { ensurePilotCrds } from './pilot-crds.ts';
import { startKubePilot } from './pilot-support.ts';
import { runPod } from './pods.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

interface Replica {
  readonly agent: RunningAgent;
  readonly envoy: EnvoyLikeClient;
  readonly ready: string;
}

describe('egress gateway readiness waits for Pilot (agent router)', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ namespacePrefix: 'egress-gw' });
  const ns = () => env.namespace;
  let dir = '';
  let pilotPort = 0;
  let pilot: RunningPilot | undefined;
  /** The gateway pods' IPs. */
  const replicas: string[] = [];
  const running: Replica[] = [];

  before(async () => {
    loadAgentProtos();
    dir = mkdtempSync(join(tmpdir(), 'agent-egress-'));
    pilotPort = await freePort();
    await ensurePilotCrds(env.kc);
    const core = env.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: 'istio-egress' },
        spec: {
          selector: { app: 'istio-egress' },
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        },
      },
    });
    // Two egress gateway pods (the chart's labels), run by the scheduler and kwok; the
    // EndpointSlice controller puts their IPs in the Service's slice.
    for (const i of [1, 2]) {
      const p = await runPod(env.kc, ns(), {
        metadata: { name: `istio-egress-${String(i)}`, labels: { app: 'istio-egress' } },
        spec: { serviceAccountName: 'istio-egress', containers: [{ name: 'e', image: 'e:1' }] },
      });
      replicas.push(p.status?.podIP ?? '');
    }
    await env.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'config.istio.io',
      version: 'v1alpha2',
      namespace: ns(),
      plural: 'egressrules',
      body: {
        apiVersion: 'config.istio.io/v1alpha2',
        kind: 'EgressRule',
        metadata: { name: 'api' },
        spec: {
          destination: { service: 'api.example.com' },
          ports: [{ port: 80, protocol: 'http' }],
          useEgressProxy: true,
        },
      },
    });
  });

  after(async () => {
    for (const r of running) {
      r.envoy.close();
      await r.agent.shutdown('test over');
    }
    await pilot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startReplica(i: number): Promise<Replica> {
    const ip = replicas[i] ?? '';
    const name = `istio-egress-${String(i + 1)}`;
    const root = join(dir, name);
    mkdirSync(join(root, 'certs'), { recursive: true });
    writeCertFiles(join(root, 'certs'), testLeaf(testRoot(), ns(), 'istio-egress'));
    const fake = writeFakeEnvoy(root);
    const config = parseAgentConfig(
      'router',
      {
        configPath: join(root, 'proxy'),
        binaryPath: fake.binary,
        certsDir: join(root, 'certs'),
        discoveryAddress: `127.0.0.1:${String(pilotPort)}`,
        statusPort: '0',
        readinessPort: '0',
        proxyAdminPort: String(await freePort()),
        statsPort: String(await freePort()),
        serviceCluster: 'istio-egress',
        drainDuration: '200ms',
        parentShutdownDuration: '2s',
      },
      { POD_NAME: name, POD_NAMESPACE: ns(), INSTANCE_IP: ip, SERVICE_ACCOUNT: 'istio-egress' },
    );
    const agent = await runAgent({
      config,
      logger,
      listenHost: '127.0.0.1',
      envoy: { env: { ...process.env, FAKE_ENVOY_LOG: fake.logFile } },
    });
    const envoy = new EnvoyLikeClient({
      target: `unix:${config.sockets.xds}`,
      nodeId: `router~${ip}~${name}.${ns()}~${ns()}.svc.cluster.local`,
      reconnectMs: 200,
    });
    envoy.start();
    const r = {
      agent,
      envoy,
      ready: `http://127.0.0.1:${String(agent.readinessPort)}/healthz/ready`,
    };
    running.push(r);
    return r;
  }

  async function staysUnready(r: Replica): Promise<void> {
    for (let i = 0; i < 10; i++) {
      assert.equal(await status(r.ready), 503, 'ready without Pilot');
      await new Promise((res) => setTimeout(res, 150));
    }
    const body = await (await fetch(r.ready)).text();
    assert.match(
      body,
      /config: not yet received from Pilot and ACKed: clusters \(CDS\); listeners \(LDS\)/,
    );
  }

  /** Ready once Pilot is, never before; holding the egress gateway's listener and route. */
  async function readyAfterPilot(r: Replica, p: RunningPilot): Promise<void> {
    const pilotReady = `http://127.0.0.1:${String(p.httpPort)}/ready`;
    await eventually(
      async () => {
        const pilotWasReady = (await status(pilotReady)) === 200;
        const gateway = await status(r.ready);
        if (gateway === 200) assert.ok(pilotWasReady, 'the gateway was ready before Pilot');
        assert.equal(gateway, 200, await fetch(r.ready).then((x) => x.text(), String));
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    assert.deepEqual(r.envoy.config.get(TypeUrl.Listener), ['egress-gateway_8080']);
    assert.deepEqual(r.envoy.config.get(TypeUrl.RouteConfiguration), ['egress-gateway']);
    assert.ok((r.envoy.config.get(TypeUrl.Cluster) ?? []).includes('outbound|80||api.example.com'));
  }

  it('is not ready while Pilot is down, and ready only after Pilot', async () => {
    const first = await startReplica(0);
    await eventually(async () => {
      assert.equal(await status(`http://127.0.0.1:${String(first.agent.statusPort)}/healthz`), 200);
    });
    await staysUnready(first);
    pilot = await startKubePilot(env.kc, pilotPort);
    await readyAfterPilot(first, pilot);
  });

  it('with Pilot stopped, a new replica stays unready until Pilot is back; the running one keeps serving', async () => {
    const first = running[0];
    assert.ok(first && pilot);
    await pilot.close();
    pilot = undefined;
    const second = await startReplica(1);
    await staysUnready(second);
    assert.equal(await status(first.ready), 200, 'Envoy keeps the config it holds');
    pilot = await startKubePilot(env.kc, pilotPort);
    await readyAfterPilot(second, pilot);
    assert.equal(await status(first.ready), 200);
  });
});

/**
 * A gateway (`istio-lite agent router`, a real process with a fake Envoy binary) never reports
 * ready before Pilot: with Pilot down, its readiness stays false; Pilot starts against a real
 * API server and syncs; only once the proxy (an Envoy-like ADS client on the agent's XDS socket)
 * has ACKed Pilot's full config does the gateway turn ready. Pilot is ready first, every time we
 * look. SIGTERM then drains Envoy through its admin API and the agent exits 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { EnvoyLikeClient } from '../../agent/testing/envoy-like-client.ts';
import { loadAgentProtos } from '../../agent/testing/envoy-protos.ts';
import { writeFakeEnvoy } from '../../agent/testing/fake-envoy.ts';
import { testLeaf, testRoot, writeCertFiles } from '../../agent/testing/workload-certs.ts';
import type { RunningPilot } from '../../pilot/run.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { freePort } from '../../lib/free-ports.ts';
import { startKubePilot } from './pilot-support.ts';

const cli = join(import.meta.dirname, '../../cli/main.ts');

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

describe('gateway readiness waits for Pilot (agent router, real process)', function () {
  this.timeout(90_000);
  const env = useLocalCluster({ namespacePrefix: 'gw' });
  let dir: string;
  let proc: ChildProcess | undefined;
  let pilot: RunningPilot | undefined;
  let envoy: EnvoyLikeClient | undefined;
  let logs = '';

  before(() => {
    loadAgentProtos();
    dir = mkdtempSync(join(tmpdir(), 'agent-gw-'));
  });

  after(async () => {
    envoy?.close();
    if (proc?.exitCode === null) proc.kill('SIGKILL');
    await pilot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays not ready while Pilot is down or syncing, turns ready after the full config, drains on SIGTERM', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: env.namespace,
      body: {
        metadata: { name: 'reviews' },
        spec: { ports: [{ name: 'http', port: 9080 }], selector: { app: 'reviews' } },
      },
    });
    const pilotPort = await freePort();
    const statusPort = await freePort();
    const readyPort = await freePort();
    const adminPort = await freePort();
    const statsPort = await freePort();
    const certs = join(dir, 'certs');
    mkdirSync(certs);
    writeCertFiles(certs, testLeaf(testRoot(), env.namespace, 'istio-ingress'));
    const fake = writeFakeEnvoy(dir);
    const configPath = join(dir, 'proxy');
    const p = spawn(
      process.execPath,
      [
        cli,
        'agent',
        'router',
        '--configPath',
        configPath,
        '--binaryPath',
        fake.binary,
        '--discoveryAddress',
        `127.0.0.1:${pilotPort}`,
        '--statusPort',
        String(statusPort),
        '--readinessPort',
        String(readyPort),
        '--proxyAdminPort',
        String(adminPort),
        '--statsPort',
        String(statsPort),
        '--certsDir',
        certs,
        '--drainDuration',
        '500ms',
        '--parentShutdownDuration',
        '5s',
        '--serviceCluster',
        'istio-ingress',
      ],
      {
        env: {
          ...process.env,
          POD_NAME: 'istio-ingress-1',
          POD_NAMESPACE: env.namespace,
          INSTANCE_IP: '127.0.0.1',
          SERVICE_ACCOUNT: 'istio-ingress',
          FAKE_ENVOY_LOG: fake.logFile,
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    proc = p;
    p.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    p.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const ready = `http://127.0.0.1:${readyPort}/healthz/ready`;

    // The agent is up (probes answer) and Envoy runs, but Pilot is down: not ready.
    await eventually(async () => {
      assert.equal(await status(`http://127.0.0.1:${statusPort}/healthz`), 200, logs);
    });
    envoy = new EnvoyLikeClient({
      target: `unix:${join(configPath, 'XDS')}`,
      nodeId: `router~127.0.0.1~istio-ingress-1.${env.namespace}~${env.namespace}.svc.cluster.local`,
      reconnectMs: 200,
    });
    envoy.start();
    for (let i = 0; i < 10; i++) {
      assert.equal(await status(ready), 503, 'ready without Pilot');
      await new Promise((r) => setTimeout(r, 150));
    }
    const body = await (await fetch(ready)).text();
    assert.match(
      body,
      /config: not yet received from Pilot and ACKed: clusters \(CDS\); listeners \(LDS\)/,
    );
    assert.doesNotMatch(body, /envoy:|certificate:/, 'only Pilot is missing');

    // Pilot starts against the API server; it is not ready until its informers synced.
    pilot = await startKubePilot(env.kc, pilotPort);
    const pilotReady = `http://127.0.0.1:${pilot.httpPort}/ready`;
    await eventually(
      async () => {
        const pilotWasReady = (await status(pilotReady)) === 200;
        const gateway = await status(ready);
        if (gateway === 200) assert.ok(pilotWasReady, 'the gateway was ready before Pilot');
        if (gateway !== 200) {
          const why = await fetch(ready).then((r) => r.text(), String);
          assert.fail(
            `gateway not ready: ${why}; proxy: ${envoy?.streams ?? 0} streams, ${envoy?.responses ?? 0} responses, ${envoy?.lastError ?? ''}`,
          );
        }
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    const clusters = envoy.config.get(TypeUrl.Cluster) ?? [];
    assert.ok(
      clusters.some((c) => c.includes(`reviews.${env.namespace}.svc.cluster.local`)),
      `the gateway holds the mesh's clusters: ${clusters.join(', ')}`,
    );

    // SIGTERM: not ready at once, Envoy drained through admin then stopped, exit 0.
    const exited = once(p, 'exit');
    p.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, logs);
    const events = fake.events().map((e) => e.event);
    assert.deepEqual(events.slice(-3), ['drain', 'SIGTERM', 'exit'], JSON.stringify(events));
    const lines = logs
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; component?: string });
    assert.ok(lines.some((l) => l.msg === 'agent running' && l.component === 'agent-router'));
    assert.ok(lines.some((l) => l.msg === 'shutdown complete'));
  });
});

/**
 * Pilot end to end with an independent xDS client: @grpc/grpc-js-xds (in a child process) calls
 * `xds:///echo.<ns>.svc.cluster.local:9000`; the Service and its EndpointSlices live in a real API
 * server, the backends are real gRPC servers started here.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import type { RunningPilot } from '../../pilot/run.ts';
import { eventually } from './eventually.ts';
import { hostAddress, startBackend, XdsClientProcess, type Backend } from './grpc-xds.ts';
import { useLocalCluster } from './local-cluster.ts';
import { startKubePilot } from './pilot-support.ts';

describe('pilot with a proxyless gRPC client (@grpc/grpc-js-xds)', function () {
  this.timeout(90_000);
  const env = useLocalCluster({ namespacePrefix: 'pilot-grpc' });
  const host = hostAddress();
  let pilot: RunningPilot;
  let xdsPort = 0;
  const backends: Backend[] = [];
  let client: XdsClientProcess | undefined;

  async function startPilot(port: number): Promise<RunningPilot> {
    const p = await startKubePilot(env.kc, port);
    await eventually(async () => {
      assert.equal((await fetch(`http://127.0.0.1:${p.httpPort}/ready`)).status, 200);
    });
    return p;
  }

  async function addSlice(b: Backend): Promise<void> {
    await env.kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
      namespace: env.namespace,
      body: {
        metadata: { name: `echo-${b.name}`, labels: { 'kubernetes.io/service-name': 'echo' } },
        addressType: 'IPv4',
        ports: [{ name: 'grpc', port: b.port, protocol: 'TCP' }],
        endpoints: [{ addresses: [b.host], conditions: { ready: true }, zone: 'z1' }],
      },
    });
  }

  before(async function () {
    // EndpointSlices refuse loopback addresses, so the backends listen on this machine's own
    // address; without one (rare; CI machines have one) there is nothing to point a slice at.
    if (host === undefined) this.skip();
    pilot = await startPilot(0);
    xdsPort = pilot.xdsPort;
    await env.kc.makeApiClient(CoreV1Api).createNamespacedService({
      namespace: env.namespace,
      body: { metadata: { name: 'echo' }, spec: { ports: [{ name: 'grpc', port: 9000 }] } },
    });
    for (const name of ['b1', 'b2', 'b3']) {
      const b = await startBackend(name, host);
      backends.push(b);
      await addSlice(b);
    }
    client = new XdsClientProcess({
      xdsPort,
      target: `xds:///echo.${env.namespace}.svc.cluster.local:9000`,
      nodeId: `sidecar~${host}~client.${env.namespace}~${env.namespace}.svc.cluster.local`,
      intervalMs: 10,
    });
  });

  after(async () => {
    await client?.stop();
    for (const b of backends) await b.close();
    await pilot.close();
  });

  function failures(since = 0): string[] {
    return (client?.since(since) ?? [])
      .filter((r) => !r.ok)
      .map((r) => `${new Date(r.t).toISOString()} ${r.code ?? ''} ${r.details ?? ''}`);
  }

  it('reaches every backend, spread over all endpoints', async () => {
    const c = client!;
    await eventually(
      () => {
        const seen = new Set(c.results.filter((r) => r.ok).map((r) => r.backend));
        assert.deepEqual([...seen].sort(), ['b1', 'b2', 'b3'], c.stderr.slice(-5).join('\n'));
      },
      { timeoutMs: 20_000 },
    );
    const t = Date.now();
    await sleep(600);
    const recent = c.since(t);
    assert.ok(recent.length > 20);
    for (const b of ['b1', 'b2', 'b3']) {
      const share = recent.filter((r) => r.backend === b).length / recent.length;
      assert.ok(share > 0.2 && share < 0.47, `${b} got ${(share * 100).toFixed(0)}% of calls`);
    }
    assert.deepEqual(failures(), []);
  });

  it('stops sending to a removed endpoint within a second', async () => {
    const c = client!;
    const t0 = Date.now();
    await env.kc
      .makeApiClient(DiscoveryV1Api)
      .deleteNamespacedEndpointSlice({ name: 'echo-b3', namespace: env.namespace });
    await sleep(2000);
    const lastB3 = Math.max(
      0,
      ...c
        .since(t0)
        .filter((r) => r.backend === 'b3')
        .map((r) => r.t),
    );
    assert.ok(lastB3 - t0 < 1000, `b3 still called ${lastB3 - t0} ms after its removal`);
    const settled = c.since(t0 + 1000);
    assert.ok(settled.length > 50 && settled.every((r) => r.ok && r.backend !== 'b3'));
    assert.deepEqual(failures(), []);
  });

  it('loses no call when Pilot restarts mid-traffic, and follows changes after reconnecting', async () => {
    const c = client!;
    const t0 = Date.now();
    await pilot.close();
    await sleep(500);
    pilot = await startPilot(xdsPort);
    await eventually(
      async () => {
        const adsz = (await (
          await fetch(`http://127.0.0.1:${pilot.httpPort}/debug/adsz`)
        ).json()) as {
          connected: number;
        };
        assert.equal(adsz.connected, 1);
      },
      { timeoutMs: 20_000 },
    );
    const b4 = await startBackend('b4', host!);
    backends.push(b4);
    await addSlice(b4);
    await eventually(
      () => {
        assert.ok(c.since(t0).some((r) => r.backend === 'b4'));
      },
      { timeoutMs: 5000 },
    );
    assert.ok(c.since(t0).length > 50);
    assert.deepEqual(failures(t0), []);
  });
});

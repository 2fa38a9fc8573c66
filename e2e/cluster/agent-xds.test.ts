/**
 * The agent's xDS proxy and readiness gate against a real Pilot (pilot/run.ts, in-process, with
 * the fixture registry): an Envoy-like ADS client connects to the agent's XDS Unix socket, the
 * agent forwards to Pilot, and 15021 turns ready only once the client has ACKed clusters,
 * listeners and every route Pilot sent, through the agent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { LocalGrpcServer } from '../../agent/grpc/local-server.ts';
import { AdsService } from '../../agent/grpc/raw-service.ts';
import { Readiness } from '../../agent/status/readiness.ts';
import {
  listenHttp,
  readinessHandler,
  type HttpListener,
} from '../../agent/status/status-server.ts';
import { EnvoyLikeClient } from '../../agent/testing/envoy-like-client.ts';
import { loadAgentProtos } from '../../agent/testing/envoy-protos.ts';
import { AckTracker } from '../../agent/xds/ack-tracker.ts';
import { XdsProxy } from '../../agent/xds/xds-proxy.ts';
import { runPilot, type RunningPilot } from '../../pilot/run.ts';
import type { MemoryRegistry } from '../../pilot/model/memory-registry.ts';
import { fixtureRegistry } from '../../pilot/testing/mesh-fixture.ts';
import { eventually } from './eventually.ts';
import { freePort } from '../../lib/free-ports.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const sidecarId = 'sidecar~10.1.0.1~reviews-1.shop~shop.svc.cluster.local';

async function startPilot(registry: MemoryRegistry, xdsPort: number): Promise<RunningPilot> {
  return runPilot({
    logger,
    mesh: defaultMeshConfig,
    registry,
    xdsHost: '127.0.0.1',
    xdsPort,
    httpHost: '127.0.0.1',
    httpPort: 0,
    debounceMs: 10,
    debounceMaxMs: 100,
    domain: 'cluster.local',
  });
}

interface AgentSide {
  readonly tracker: AckTracker;
  readonly socket: string;
  readonly ready: HttpListener;
  readyStatus(): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

async function startAgentSide(dir: string, name: string, pilotAddress: string): Promise<AgentSide> {
  const tracker = new AckTracker();
  const proxy = new XdsProxy({
    upstream: pilotAddress,
    tracker,
    logger,
    metrics: createRegistry('agent', false),
  });
  const server = new LocalGrpcServer();
  server.add(AdsService, proxy.handlers());
  const socket = join(dir, name);
  await server.bind(socket);
  const readiness = new Readiness();
  readiness.add({ name: 'xds', check: () => tracker.notReady() });
  const ready = await listenHttp(readinessHandler(readiness), '127.0.0.1', 0);
  return {
    tracker,
    socket,
    ready,
    async readyStatus() {
      const r = await fetch(`http://127.0.0.1:${ready.port}/healthz/ready`);
      return { status: r.status, body: await r.text() };
    },
    async close() {
      proxy.close();
      await server.close();
      await ready.close();
    },
  };
}

describe('agent xDS proxy and readiness with a real Pilot', function () {
  this.timeout(30_000);
  let dir: string;
  let registry: MemoryRegistry;
  let pilot: RunningPilot | undefined;
  let pilotPort: number;
  let agent: AgentSide;
  const clients: EnvoyLikeClient[] = [];
  let synced: string | undefined = 'informers not synced yet';

  before(async () => {
    loadAgentProtos();
    dir = mkdtempSync(join(tmpdir(), 'agent-xds-'));
    registry = fixtureRegistry();
    registry.setSyncCheck(() => synced);
    pilotPort = await freePort();
    pilot = await startPilot(registry, pilotPort);
    agent = await startAgentSide(dir, 'XDS', `127.0.0.1:${pilotPort}`);
  });

  after(async () => {
    for (const c of clients) c.close();
    await agent.close();
    await pilot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is not ready while Pilot is not synced, ready once the proxy ACKed a full config', async () => {
    const envoy = new EnvoyLikeClient({ target: `unix:${agent.socket}`, nodeId: sidecarId });
    clients.push(envoy);
    envoy.start();
    await new Promise((r) => setTimeout(r, 500));
    let r = await agent.readyStatus();
    assert.equal(r.status, 503);
    assert.match(r.body, /clusters \(CDS\); listeners \(LDS\)/);
    assert.equal(envoy.config.size, 0, 'Pilot sent nothing before it synced');

    synced = undefined;
    registry.notify();
    await eventually(async () => {
      r = await agent.readyStatus();
      assert.equal(r.status, 200, r.body);
    });
    // What made it ready is what the client holds: clusters, listeners and their routes.
    const clusters = envoy.config.get(TypeUrl.Cluster) ?? [];
    assert.ok(
      clusters.some((c) => c.includes('reviews.shop.svc.cluster.local')),
      clusters.join(),
    );
    assert.ok((envoy.config.get(TypeUrl.Listener) ?? []).length > 0);
    const state = agent.tracker.state();
    assert.deepEqual(
      [...state.routesNeeded].sort(),
      [...(envoy.config.get(TypeUrl.RouteConfiguration) ?? [])].sort(),
    );
    for (const a of state.acked) assert.equal(envoy.acked.get(a.typeUrl), a.version);
  });

  it('stays not ready when the proxy rejects the routes', async () => {
    const side = await startAgentSide(dir, 'XDS-nack', `127.0.0.1:${pilotPort}`);
    try {
      const envoy = new EnvoyLikeClient({
        target: `unix:${side.socket}`,
        nodeId: 'sidecar~10.1.0.2~reviews-2.shop~shop.svc.cluster.local',
        reject: (t) => (t === TypeUrl.RouteConfiguration ? 'route validation failed' : undefined),
      });
      clients.push(envoy);
      envoy.start();
      await eventually(() => {
        assert.ok(envoy.nacked.length > 0);
      });
      const r = await side.readyStatus();
      assert.equal(r.status, 503);
      assert.match(r.body, /routes \(RDS\).*last NACK: route validation failed/);
    } finally {
      await side.close();
    }
  });

  it('keeps readiness when Pilot restarts; the proxy reconnects through the agent', async () => {
    const [envoy] = clients;
    assert.ok(envoy);
    const before = envoy.streams;
    await pilot?.close();
    pilot = undefined;
    await eventually(() => {
      assert.ok(envoy.streams > before, 'the proxy saw its stream end and reconnected');
    });
    assert.equal((await agent.readyStatus()).status, 200, 'Envoy keeps its config without Pilot');
    const streamsWithoutPilot = envoy.streams;
    const responses = envoy.responses;
    pilot = await startPilot(registry, pilotPort);
    // The new stream gets the whole config again from the new Pilot, through the agent.
    await eventually(
      () => {
        assert.ok(envoy.responses >= responses + 4, `${envoy.responses - responses} responses`);
      },
      { timeoutMs: 15_000 },
    );
    assert.ok(envoy.streams >= streamsWithoutPilot);
    assert.equal((await agent.readyStatus()).status, 200);
  });
});

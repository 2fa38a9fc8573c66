import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { pino } from 'pino';
import { freePorts } from '../lib/free-ports.ts';
import { listenOn } from '../lib/listen.ts';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import { holdPort } from '../lib/testing/held-port.ts';
import { TypeUrl } from '../lib/xds/type-urls.ts';
import type { MemoryRegistry } from './model/memory-registry.ts';
import { runPilot, type RunningPilot } from './run.ts';
import { fixtureRegistry } from './testing/mesh-fixture.ts';
import { RawAdsClient } from './testing/raw-ads-client.ts';

describe('pilot HTTP: /ready, /metrics, /debug/*', () => {
  let registry: MemoryRegistry;
  let synced: string | undefined;
  let pilot: RunningPilot;
  let base: string;

  before(async () => {
    registry = fixtureRegistry();
    synced = 'informers not synced: pods';
    registry.setSyncCheck(() => synced);
    pilot = await runPilot({
      logger: pino({ level: 'silent' }),
      mesh: defaultMeshConfig,
      registry,
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      httpHost: '127.0.0.1',
      httpPort: 0,
      debounceMs: 10,
      debounceMaxMs: 50,
      domain: 'cluster.local',
    });
    base = `http://127.0.0.1:${pilot.httpPort}`;
  });

  after(async () => {
    await pilot.close();
  });

  it('is not ready until the registry has synced and the first snapshot is built', async () => {
    const before = await fetch(`${base}/ready`);
    assert.equal(before.status, 503);
    assert.match(await before.text(), /pods/);
    synced = undefined;
    registry.notify();
    await new Promise((r) => setTimeout(r, 100));
    const after = await fetch(`${base}/ready`);
    assert.equal(after.status, 200);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  it('shows streams, versions, ACKs and NACKs, the config, and metrics', async () => {
    const c = new RawAdsClient(
      `127.0.0.1:${pilot.xdsPort}`,
      'sidecar~10.1.0.1~r.shop~shop.svc.cluster.local',
    );
    try {
      c.send({ typeUrl: TypeUrl.Cluster });
      const cds = await c.next();
      c.nack(cds, 'bad cluster');
      await new Promise((r) => setTimeout(r, 100));
      const syncz = (await (await fetch(`${base}/debug/syncz`)).json()) as {
        proxy: string;
        types: Record<string, { sentVersion: string; lastNack: { message: string } }>;
      }[];
      const first = syncz[0];
      assert.ok(first);
      assert.equal(first.proxy, 'sidecar~10.1.0.1~r.shop~shop.svc.cluster.local');
      assert.equal(first.types['CDS']?.lastNack.message, 'bad cluster');
      const adsz = (await (await fetch(`${base}/debug/adsz`)).json()) as { connected: number };
      assert.equal(adsz.connected, 1);
      const configz = (await (await fetch(`${base}/debug/configz`)).json()) as {
        services: unknown[];
      };
      assert.equal(configz.services.length, 7);
      const proxy = encodeURIComponent('sidecar~10.1.0.1~r.shop~shop.svc.cluster.local');
      const dump = (await (
        await fetch(`${base}/debug/configz?proxy=${proxy}&type=LDS`)
      ).json()) as {
        resources: Record<string, { name: string }[]>;
      };
      assert.deepEqual(dump.resources['LDS']?.map((l) => l.name).sort(), [
        'virtualInbound',
        'virtualOutbound',
      ]);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      for (const m of [
        'pilot_xds_pushes_total{type="CDS"} 1',
        'pilot_xds_nacks_total{type="CDS"} 1',
        'pilot_xds_connected_proxies 1',
        'pilot_push_time_seconds_count',
        'pilot_proxy_convergence_time_seconds',
      ]) {
        assert.ok(metrics.includes(m), m);
      }
    } finally {
      c.close();
    }
  });
});

describe('pilot start with a port already taken', () => {
  const held = holdPort();

  /** A registry that counts its live subscriptions (the discovery server's). */
  function countingRegistry(): { registry: MemoryRegistry; subscribed: () => number } {
    const registry = fixtureRegistry();
    let subscribed = 0;
    const onChange = registry.onChange.bind(registry);
    registry.onChange = (listener) => {
      subscribed++;
      const off = onChange(listener);
      return () => {
        subscribed--;
        off();
      };
    };
    return { registry, subscribed: () => subscribed };
  }

  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  for (const which of ['xdsPort', 'httpPort'] as const) {
    it(`rejects naming the address when ${which} is taken, and leaves nothing running`, async () => {
      const { registry, subscribed } = countingRegistry();
      const [free] = await freePorts(1);
      const before = timers();
      await assert.rejects(
        runPilot({
          logger: pino({ level: 'silent' }),
          mesh: defaultMeshConfig,
          registry,
          xdsHost: '127.0.0.1',
          xdsPort: which === 'xdsPort' ? held.port : (free ?? 0),
          httpHost: '127.0.0.1',
          httpPort: which === 'httpPort' ? held.port : (free ?? 0),
          debounceMs: 10,
          debounceMaxMs: 50,
          domain: 'cluster.local',
        }),
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${String(held.port)}: address already in use`),
      );
      // The discovery server stopped: unsubscribed, so a change schedules no push.
      assert.equal(subscribed(), 0);
      registry.notify();
      assert.equal(timers(), before);
      // The other server was stopped too: its port is free again.
      const probe = createServer();
      await listenOn(probe, free ?? 0, '127.0.0.1');
      await new Promise((r) => probe.close(r));
    });
  }
});

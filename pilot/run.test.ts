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
import { eventually } from '../lib/testing/eventually.ts';
import { FakeConsul, FakeEureka } from './testing/fake-registries.ts';
import { RawAdsClient, names } from './testing/raw-ads-client.ts';

describe('pilot HTTP: /ready, /metrics, /debug/*', () => {
  let registry: MemoryRegistry;
  let synced: string | undefined;
  let pilot: RunningPilot;
  let base: string;
  let firstBuilds = 0;

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
      onFirstBuild: () => firstBuilds++,
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
    assert.equal(firstBuilds, 0);
    synced = undefined;
    registry.notify();
    await new Promise((r) => setTimeout(r, 100));
    const after = await fetch(`${base}/ready`);
    assert.equal(after.status, 200);
    // Once, at the first build (istio-lite pilot then sets its heap growth).
    registry.notify();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(firstBuilds, 1);
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

describe('pilot with Kubernetes, Consul and Eureka registries', () => {
  let consul: FakeConsul;
  let eureka: FakeEureka;
  let pilot: RunningPilot;
  let base: string;

  interface Registryz {
    registries: {
      name: string;
      state: string;
      lastSync: string | null;
      lastError: string | null;
      services: number;
    }[];
    conflicts: { hostname: string; served: string; ignored: string[] }[];
    status: string[];
  }
  const registryz = async () =>
    (await (await fetch(`${base}/debug/registryz`)).json()) as Registryz;

  before(async () => {
    consul = new FakeConsul();
    eureka = new FakeEureka();
    await consul.start();
    await consul.stop();
    await eureka.start();
    consul.register('reviews', { id: 'reviews-1', port: 9080, tags: ['version|v1'] });
    // The Kubernetes fixture has reviews.shop.svc.cluster.local: Eureka has it too.
    eureka.put({
      app: 'REVIEWS',
      hostName: 'reviews.shop.svc.cluster.local',
      ipAddr: '10.7.0.1',
      port: 9080,
      metadata: { 'istio.protocol': 'http' },
    });
    eureka.put({ app: 'RATINGS', hostName: 'ratings.eureka', ipAddr: '10.7.0.2', port: 9080 });
    pilot = await runPilot({
      logger: pino({ level: 'silent' }),
      mesh: defaultMeshConfig,
      registry: fixtureRegistry(),
      registries: [
        { kind: 'Kubernetes' },
        { kind: 'Consul', url: consul.url },
        { kind: 'Eureka', url: eureka.url, pollMs: 50 },
      ],
      registryRetry: { initialMs: 20, maxMs: 100 },
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
    await consul.stop();
    await eureka.stop();
  });

  it('is not ready before every registry’s first sync, and says which and why', async () => {
    await eventually(async () => {
      const r = await fetch(`${base}/ready`);
      assert.equal(r.status, 503);
      assert.match(await r.text(), /not ready: Consul registry not synced yet: .*cannot connect/);
    });
    const z = await registryz();
    assert.deepEqual(
      z.registries.map((r) => [r.name, r.state]),
      [
        ['Kubernetes', 'synced'],
        ['Consul', 'down'],
        ['Eureka', 'synced'],
      ],
    );
    await consul.start();
    await eventually(async () => {
      assert.equal((await fetch(`${base}/ready`)).status, 200);
    });
  });

  it('serves all three; a hostname two have comes from the first, and is reported', async () => {
    const c = new RawAdsClient(
      `127.0.0.1:${pilot.xdsPort}`,
      'sidecar~10.1.0.1~r.shop~shop.svc.cluster.local',
    );
    try {
      c.send({ typeUrl: TypeUrl.Cluster });
      const clusters = names(await c.next());
      for (const want of [
        'outbound|9080||reviews.service.consul',
        'outbound|9080||ratings.eureka',
        'outbound|9080||reviews.shop.svc.cluster.local',
      ]) {
        assert.ok(clusters.includes(want), want);
      }
      const configz = (await (await fetch(`${base}/debug/configz`)).json()) as {
        services: { hostname: string; registry: string }[];
      };
      const by = new Map(configz.services.map((s) => [s.hostname, s.registry]));
      assert.equal(by.get('reviews.service.consul'), 'Consul');
      assert.equal(by.get('ratings.eureka'), 'Eureka');
      assert.equal(by.get('reviews.shop.svc.cluster.local'), 'Kubernetes');
    } finally {
      c.close();
    }
    const z = await registryz();
    assert.deepEqual(z.conflicts, [
      { hostname: 'reviews.shop.svc.cluster.local', served: 'Kubernetes', ignored: ['Eureka'] },
    ]);
    assert.match(
      z.status.join('\n'),
      /reviews.shop.svc.cluster.local: in Kubernetes and Eureka; Kubernetes's is served/,
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /pilot_registry_conflicts 1/);
    assert.match(metrics, /pilot_registry_up\{registry="Consul"\} 1/);
    assert.match(metrics, /pilot_registry_last_sync_seconds\{registry="Eureka"\} \d/);
    assert.match(metrics, /pilot_registry_services\{registry="Consul"\} 1/);
  });

  it('stays ready with a registry down, says so, serves its last view, and catches up', async () => {
    await consul.stop();
    await eventually(async () => {
      const c = (await registryz()).registries[1];
      assert.ok(c);
      assert.equal(c.state, 'down');
      assert.match(c.lastError ?? '', /cannot connect/);
    });
    const ready = await fetch(`${base}/ready`);
    assert.equal(ready.status, 200);
    assert.match(
      await ready.text(),
      /^ready\nConsul \(http:\/\/127\.0\.0\.1:\d+\): down for \d+ s, serving its last good view \(1 service\): /,
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /pilot_registry_up\{registry="Consul"\} 0/);
    const configz = (await (await fetch(`${base}/debug/configz`)).json()) as {
      services: { hostname: string }[];
    };
    assert.ok(configz.services.some((s) => s.hostname === 'reviews.service.consul'));

    consul.register('details', { id: 'details-1', port: 9080 });
    await consul.start();
    await eventually(async () => {
      const z = await registryz();
      assert.equal(z.registries[1]?.state, 'synced');
      const c = (await (await fetch(`${base}/debug/configz`)).json()) as {
        services: { hostname: string }[];
      };
      assert.ok(c.services.some((s) => s.hostname === 'details.service.consul'));
    });
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

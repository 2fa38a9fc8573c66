import assert from 'node:assert/strict';
import { pino } from 'pino';
import { eventually } from '../../lib/testing/eventually.ts';
import { FakeConsul } from '../testing/fake-registries.ts';
import { parseHealthService } from './consul-wire.ts';
import { ConsulRegistry, consulLabels, consulServiceView } from './consul.ts';

const silent = pino({ level: 'silent' });

function entries(list: readonly Record<string, unknown>[]) {
  return parseHealthService(
    list.map((x, i) => ({
      Node: { Node: `node-${String(i)}`, Address: `10.0.0.${String(i + 1)}`, Meta: x['nodeMeta'] },
      Service: {
        ID: `web-${String(i)}`,
        Service: 'web',
        Address: x['address'] ?? '',
        Port: x['port'] ?? 9080,
        Tags: x['tags'] ?? [],
        Meta: x['meta'] ?? {},
      },
      Checks: (Array.isArray(x['checks']) ? x['checks'] : ['passing']).map((s: unknown) => ({
        CheckID: 'c',
        Status: s,
      })),
    })),
    'test',
  );
}

function collect(): { warn: (k: string, m: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (_k, m) => messages.push(m), messages };
}

describe('Consul mapping (Istio 0.2 platform/consul)', () => {
  it('makes labels of tags written key|value and ignores other tags', () => {
    assert.deepEqual(consulLabels(['version|v1', 'primary', 'zone|a|b', '|x', 'env|']), {
      version: 'v1',
      zone: 'a|b',
      env: '',
    });
  });

  it('names the service <name>.service.consul with one port per instance port', () => {
    const w = collect();
    const view = consulServiceView(
      'web',
      entries([
        { port: 9080, tags: ['version|v1'] },
        { port: 9080, tags: ['version|v2'] },
      ]),
      w.warn,
    );
    assert.ok(view);
    assert.deepEqual(view.service, {
      hostname: 'web.service.consul',
      name: 'web',
      namespace: '',
      clusterIP: undefined,
      ports: [{ name: '9080', port: 9080, protocol: 'HTTP' }],
      registry: 'Consul',
    });
    assert.deepEqual(
      view.endpoints.map((e) => [e.address, e.port, e.servicePortName, e.labels, e.tlsMode]),
      [
        ['10.0.0.1', 9080, '9080', { version: 'v1' }, 'disabled'],
        ['10.0.0.2', 9080, '9080', { version: 'v2' }, 'disabled'],
      ],
    );
    assert.equal(view.endpoints[0]?.serviceAccount, undefined);
    assert.deepEqual(w.messages, []);
  });

  it('takes the protocol from service meta, else node meta (0.2), else http; unknown is tcp', () => {
    const w = collect();
    const view = consulServiceView(
      'web',
      entries([
        { port: 1, meta: { protocol: 'grpc' }, nodeMeta: { protocol: 'tcp' } },
        { port: 2, nodeMeta: { protocol: 'http2' } },
        { port: 3 },
        { port: 4, meta: { protocol: 'HTTPS' } },
        { port: 5, meta: { protocol: 'mongo' } },
        { port: 6, meta: { protocol: 'redis' } },
        { port: 7, meta: { protocol: 'udp' } },
        { port: 8, meta: { protocol: 'carrier-pigeon' } },
        { port: 9, meta: { protocol: '' }, nodeMeta: { protocol: 'tcp' } },
      ]),
      w.warn,
    );
    assert.deepEqual(
      view?.service.ports.map((p) => [p.port, p.protocol]),
      [
        [1, 'GRPC'],
        [2, 'HTTP2'],
        [3, 'HTTP'],
        [4, 'HTTPS'],
        [5, 'MONGO'],
        [6, 'REDIS'],
        [7, 'UDP'],
        [8, 'TCP'],
        [9, 'TCP'],
      ],
    );
    assert.equal(w.messages.length, 1);
    assert.match(w.messages[0] ?? '', /protocol "carrier-pigeon" .* is not one of .*: tcp/);
  });

  it('uses the instance address, else the node address; leaves out what Envoy cannot dial', () => {
    const w = collect();
    const view = consulServiceView(
      'web',
      entries([{ address: '192.168.1.5' }, {}, { address: 'web.example.com' }, { port: 0 }]),
      w.warn,
    );
    assert.deepEqual(
      view?.endpoints.map((e) => e.address),
      ['192.168.1.5', '10.0.0.2'],
    );
    assert.equal(w.messages.length, 2);
    assert.match(w.messages.join('\n'), /"web.example.com" is not an IP: left out/);
    assert.match(w.messages.join('\n'), /has no port: left out/);
    assert.equal(consulServiceView('web', [], w.warn), undefined);
  });

  it('an instance is ready only while all its checks pass', () => {
    const view = consulServiceView(
      'web',
      entries([
        { checks: ['passing', 'passing'] },
        { checks: ['passing', 'critical'] },
        { checks: ['warning'] },
        { checks: [] },
      ]),
      () => undefined,
    );
    assert.deepEqual(
      view?.endpoints.map((e) => e.ready),
      [true, false, false, true],
    );
  });

  it('keeps the first instance’s protocol when two disagree, and says so', () => {
    const w = collect();
    const view = consulServiceView(
      'web',
      entries([{ meta: { protocol: 'grpc' } }, { meta: { protocol: 'tcp' } }]),
      w.warn,
    );
    assert.deepEqual(view?.service.ports, [{ name: '9080', port: 9080, protocol: 'GRPC' }]);
    assert.match(w.messages[0] ?? '', /port 9080 is TCP, an earlier instance GRPC: GRPC kept/);
  });
});

describe('Consul registry against a Consul HTTP API', () => {
  let consul: FakeConsul;
  let registry: ConsulRegistry;

  beforeEach(async () => {
    consul = new FakeConsul();
    await consul.start();
  });

  afterEach(async () => {
    await registry.stop();
    await consul.stop();
  });

  function start(): ConsulRegistry {
    registry = new ConsulRegistry({
      url: consul.url,
      logger: silent,
      waitMs: 2000,
      retry: { initialMs: 20, maxMs: 200 },
    });
    void registry.start();
    return registry;
  }

  it('syncs the catalog, then follows registrations, health and deregistrations as they happen', async () => {
    consul.register('web', { id: 'web-1', port: 9080, tags: ['version|v1'] });
    start();
    await eventually(() => {
      assert.equal(registry.notSynced(), undefined);
    });
    assert.equal(registry.status().state, 'synced');
    assert.equal(registry.status().services, 1);
    const first = registry.current();
    const web = first.services.get('web.service.consul');
    assert.ok(web);

    let changes = 0;
    const off = registry.onChange(() => changes++);
    const t0 = Date.now();
    consul.register('web', {
      id: 'web-2',
      nodeAddress: '10.0.0.2',
      node: 'node-2',
      port: 9080,
      tags: ['version|v2'],
    });
    await eventually(() => {
      assert.equal(registry.current().endpoints.get('web.service.consul')?.length, 2);
    });
    // A blocking query answers at once: no polling period in between.
    assert.ok(Date.now() - t0 < 500, `took ${String(Date.now() - t0)} ms`);
    // The service did not change: the same object.
    assert.equal(registry.current().services.get('web.service.consul'), web);

    consul.register('web', {
      id: 'web-2',
      nodeAddress: '10.0.0.2',
      node: 'node-2',
      port: 9080,
      tags: ['version|v2'],
      checks: ['critical'],
    });
    await eventually(() => {
      const eps = registry.current().endpoints.get('web.service.consul') ?? [];
      assert.deepEqual(
        eps.map((e) => e.ready),
        [true, false],
      );
    });

    consul.register('db', { id: 'db-1', port: 5432, meta: { protocol: 'tcp' } });
    await eventually(() => {
      assert.ok(registry.current().services.has('db.service.consul'));
    });
    // A change to db leaves web's objects as they were.
    const webEps = registry.current().endpoints.get('web.service.consul');
    consul.register('db', { id: 'db-2', port: 5432, meta: { protocol: 'tcp' } });
    await eventually(() => {
      assert.equal(registry.current().endpoints.get('db.service.consul')?.length, 2);
    });
    assert.equal(registry.current().endpoints.get('web.service.consul'), webEps);

    consul.deregister('db', 'db-1');
    consul.deregister('db', 'db-2');
    await eventually(() => {
      assert.equal(registry.current().services.has('db.service.consul'), false);
    });
    off();
    assert.ok(changes >= 4, String(changes));
    // Every read after the first blocked with the index Consul gave.
    assert.ok(consul.requests.some((r) => /\/v1\/catalog\/services\?index=\d+&wait=2s/.test(r)));
  });

  it('is not synced while Consul is unreachable, and says why', async () => {
    await consul.stop();
    start();
    await eventually(() => {
      assert.match(
        registry.notSynced() ?? '',
        /^Consul registry not synced yet: Consul http:\/\/127\.0\.0\.1:\d+\/v1\/catalog\/services: cannot connect \(ECONNREFUSED/,
      );
      assert.equal(registry.status().state, 'down');
    });
    await consul.start();
    await eventually(() => {
      assert.equal(registry.notSynced(), undefined);
    });
  });

  it('keeps its last good view while Consul is down or answers garbage, and catches up', async () => {
    consul.register('web', { id: 'web-1', port: 9080 });
    start();
    await eventually(() => {
      assert.equal(registry.notSynced(), undefined);
    });
    const view = registry.current();

    consul.mode = 'garbage';
    consul.changed();
    await eventually(() => {
      const s = registry.status();
      assert.equal(s.state, 'down');
      assert.match(
        s.lastError ?? '',
        /the answer is not JSON \(text\/html\): <html>not a registry/,
      );
    });
    assert.equal(registry.current(), view);
    assert.equal(registry.notSynced(), undefined);

    consul.mode = 'wrong-shape';
    await eventually(() => {
      assert.match(
        registry.status().lastError ?? '',
        /\/v1\/(health\/service\/web|catalog\/services): .*(must|required)/,
      );
    });
    assert.equal(registry.current(), view);

    consul.mode = 'ok';
    await consul.stop();
    await eventually(() => {
      assert.match(registry.status().lastError ?? '', /cannot connect|socket|closed|terminated/);
    });
    assert.equal(registry.current(), view);
    const downSince = registry.status().downSinceMs;
    assert.ok(downSince !== undefined);

    // Back on the same port with a changed catalog (a restarted agent's index starts lower).
    consul.index = 3;
    consul.register('web', { id: 'web-9', port: 9080, nodeAddress: '10.0.0.9' });
    consul.deregister('web', 'web-1');
    await consul.start();
    await eventually(() => {
      assert.equal(registry.status().state, 'synced');
      assert.deepEqual(
        registry
          .current()
          .endpoints.get('web.service.consul')
          ?.map((e) => e.address),
        ['10.0.0.9'],
      );
    });
    assert.equal(registry.status().downSinceMs, undefined);
    assert.match(registry.status().lastError ?? '', /./, 'the last error stays on record');
  });

  it('logs one warning when Consul goes down, however many services, and one line when back', async () => {
    for (const name of ['a', 'b', 'c', 'd']) consul.register(name, { id: `${name}-1`, port: 80 });
    const lines: { level: number; msg: string }[] = [];
    registry = new ConsulRegistry({
      url: consul.url,
      logger: pino(
        { level: 'info' },
        { write: (l: string) => lines.push(JSON.parse(l) as { level: number; msg: string }) },
      ),
      waitMs: 2000,
      retry: { initialMs: 20, maxMs: 100 },
    });
    void registry.start();
    await eventually(() => {
      assert.equal(registry.notSynced(), undefined);
    });
    await consul.stop();
    await eventually(() => {
      assert.equal(registry.status().state, 'down');
    });
    await new Promise((r) => setTimeout(r, 400));
    await consul.start();
    await eventually(() => {
      assert.equal(registry.status().state, 'synced');
    });
    const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg);
    assert.deepEqual(warnings, [
      'Consul registry failing: serving its last good view (4 service(s)) and retrying',
    ]);
    assert.equal(lines.filter((l) => /registry is back after/.test(l.msg)).length, 1);
  });

  it('holds a few connections however many services: 3 watches + the read concurrency', async () => {
    for (let i = 0; i < 300; i++) {
      consul.register(`svc-${String(i)}`, {
        id: `svc-${String(i)}-1`,
        node: `node-${String(i % 20)}`,
        nodeAddress: `10.1.0.${String(i % 20)}`,
        port: 8000 + (i % 50),
      });
    }
    registry = new ConsulRegistry({
      url: consul.url,
      logger: silent,
      waitMs: 2000,
      concurrency: 8,
      retry: { initialMs: 20, maxMs: 200 },
    });
    void registry.start();
    await eventually(() => {
      assert.equal(registry.notSynced(), undefined);
    });
    assert.equal(registry.current().services.size, 300);
    const reads = () => consul.requests.filter((r) => r.startsWith('/v1/health/service/')).length;
    assert.equal(reads(), 300);

    // A failing check: that service alone is read again.
    const before = reads();
    const eps = registry.current().endpoints.get('svc-1.service.consul');
    consul.register('svc-7', {
      id: 'svc-7-1',
      node: 'node-7',
      nodeAddress: '10.1.0.7',
      port: 8007,
      checks: ['critical'],
    });
    await eventually(() => {
      assert.deepEqual(
        registry
          .current()
          .endpoints.get('svc-7.service.consul')
          ?.map((e) => e.ready),
        [false],
      );
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(reads() - before, 1);
    assert.equal(registry.current().endpoints.get('svc-1.service.consul'), eps);

    // An instance registered without checks: no signature shows it, so every service is read.
    consul.register('svc-3', {
      id: 'svc-3-2',
      node: 'node-9',
      nodeAddress: '10.1.0.99',
      port: 8003,
      checks: [],
    });
    await eventually(() => {
      assert.equal(registry.current().endpoints.get('svc-3.service.consul')?.length, 2);
    });
    assert.equal(registry.current().endpoints.get('svc-1.service.consul'), eps);

    // An outage: everything is read again on recovery, with no more connections.
    await consul.stop();
    await eventually(() => {
      assert.equal(registry.status().state, 'down');
    });
    consul.register('svc-299', { id: 'svc-299-2', node: 'node-5', port: 8049 });
    await consul.start();
    await eventually(() => {
      assert.equal(registry.status().state, 'synced');
      assert.equal(registry.current().endpoints.get('svc-299.service.consul')?.length, 2);
    });
    assert.ok(
      consul.maxConnections <= 3 + 8,
      `${String(consul.maxConnections)} connections at once`,
    );
  });

  it('backs off while Consul fails, never faster than the first delay and capped', async () => {
    consul.mode = 'http500';
    start();
    await new Promise((r) => setTimeout(r, 1000));
    // initial 20 ms doubling to a 200 ms cap: about 10 tries in a second, not hundreds.
    const n = consul.requests.length;
    assert.ok(n >= 4 && n <= 20, `${String(n)} requests`);
    assert.match(registry.status().lastError ?? '', /HTTP 500: internal error/);
  });
});

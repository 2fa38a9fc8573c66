import assert from 'node:assert/strict';
import { pino } from 'pino';
import { eventually } from '../../lib/testing/eventually.ts';
import { FakeEureka } from '../testing/fake-registries.ts';
import type { EurekaApp, EurekaInstance } from './eureka-wire.ts';
import { EurekaRegistry, eurekaAppsPaths, eurekaServices } from './eureka.ts';

const silent = pino({ level: 'silent' });

function inst(
  o: Omit<Partial<EurekaInstance>, 'metadata'> & { metadata?: Record<string, string> },
): EurekaInstance {
  return {
    instanceId: o.instanceId ?? o.ipAddr ?? '10.0.0.1',
    hostName: o.hostName ?? 'reviews.local',
    app: o.app ?? 'REVIEWS',
    ipAddr: o.ipAddr ?? '10.0.0.1',
    status: o.status ?? 'UP',
    port: o.port ?? { port: 9080, enabled: true },
    securePort: o.securePort ?? { port: 9443, enabled: false },
    metadata: new Map(Object.entries(o.metadata ?? {})),
  };
}

function app(...instances: EurekaInstance[]): EurekaApp[] {
  return [{ name: 'REVIEWS', instances }];
}

describe('Eureka mapping (Istio 0.2 platform/eureka)', () => {
  it('one service per hostName; enabled ports named by number; UP instances only', () => {
    const warnings: string[] = [];
    const views = eurekaServices(
      app(
        inst({ ipAddr: '10.0.0.1', metadata: { 'istio.protocol': 'HTTP', version: 'v1' } }),
        inst({
          ipAddr: '10.0.0.2',
          securePort: { port: 9443, enabled: true },
          metadata: { 'istio.protocol': 'http', version: 'v2', '@class': 'java.util.HashMap' },
        }),
        inst({ ipAddr: '10.0.0.3', status: 'DOWN' }),
        inst({ ipAddr: '10.0.0.4', status: 'OUT_OF_SERVICE' }),
        inst({ ipAddr: '10.0.0.5', port: { port: 9080, enabled: false } }),
      ),
      (_k, m) => warnings.push(m),
    );
    assert.deepEqual([...views.keys()], ['reviews.local']);
    const v = views.get('reviews.local');
    assert.ok(v);
    assert.deepEqual(v.service, {
      hostname: 'reviews.local',
      name: 'reviews.local',
      namespace: '',
      clusterIP: undefined,
      ports: [
        { name: '9080', port: 9080, protocol: 'HTTP' },
        { name: '9443', port: 9443, protocol: 'HTTP' },
      ],
      registry: 'Eureka',
    });
    assert.deepEqual(
      v.endpoints.map((e) => [e.address, e.port, e.servicePortName, e.labels, e.ready]),
      [
        ['10.0.0.1', 9080, '9080', { version: 'v1' }, true],
        ['10.0.0.2', 9080, '9080', { version: 'v2' }, true],
        ['10.0.0.2', 9443, '9443', { version: 'v2' }, true],
      ],
    );
    assert.deepEqual(warnings, []);
  });

  it('protocol from istio.protocol, tcp when absent or unknown', () => {
    const warnings: string[] = [];
    const views = eurekaServices(
      [
        { name: 'A', instances: [inst({ hostName: 'a', metadata: {} })] },
        { name: 'B', instances: [inst({ hostName: 'b', metadata: { 'istio.protocol': 'GRPC' } })] },
        { name: 'C', instances: [inst({ hostName: 'c', metadata: { 'istio.protocol': 'smtp' } })] },
        {
          name: 'D',
          instances: [inst({ hostName: 'd', metadata: { 'istio.protocol': 'mongo' } })],
        },
      ],
      (_k, m) => warnings.push(m),
    );
    assert.deepEqual(
      [...views.values()].map((v) => [v.service.hostname, v.service.ports[0]?.protocol]),
      [
        ['a', 'TCP'],
        ['b', 'GRPC'],
        ['c', 'TCP'],
        ['d', 'MONGO'],
      ],
    );
    assert.match(warnings.join('\n'), /istio.protocol "smtp" .* is not one of .*: tcp/);
  });

  it('leaves out instances with no hostName or an ipAddr that is not an IP, and says so', () => {
    const warnings: string[] = [];
    const views = eurekaServices(
      app(inst({ hostName: '' }), inst({ ipAddr: 'host.example' }), inst({ ipAddr: '::1' })),
      (_k, m) => warnings.push(m),
    );
    assert.deepEqual(
      views.get('reviews.local')?.endpoints.map((e) => e.address),
      ['::1'],
    );
    assert.equal(warnings.length, 2);
  });

  it('finds the apps path from the URL: its own path, else /eureka/v2 then /eureka', () => {
    assert.deepEqual(eurekaAppsPaths('http://e:8761'), {
      base: 'http://e:8761',
      paths: ['/eureka/v2/apps', '/eureka/apps'],
    });
    assert.deepEqual(eurekaAppsPaths('http://e:8761/eureka/'), {
      base: 'http://e:8761',
      paths: ['/eureka/apps'],
    });
  });
});

describe('Eureka registry against a Eureka server', () => {
  let eureka: FakeEureka;
  let registry: EurekaRegistry;

  beforeEach(async () => {
    eureka = new FakeEureka();
    await eureka.start();
  });

  afterEach(async () => {
    await registry.stop();
    await eureka.stop();
  });

  function start(url = eureka.url): EurekaRegistry {
    registry = new EurekaRegistry({
      url,
      logger: silent,
      pollMs: 50,
      retry: { initialMs: 20, maxMs: 200 },
    });
    void registry.start();
    return registry;
  }

  it('polls the apps and writes only the services that changed', async () => {
    eureka.singleAsObject = true;
    eureka.put({ app: 'REVIEWS', hostName: 'reviews.local', ipAddr: '10.0.0.1', port: 9080 });
    eureka.put({ app: 'RATINGS', hostName: 'ratings.local', ipAddr: '10.0.1.1', port: 9080 });
    start();
    await eventually(() => {
      assert.equal(registry.notSynced(), undefined);
    });
    assert.equal(registry.status().services, 2);
    const before = registry.current();
    let changes = 0;
    const off = registry.onChange(() => changes++);
    // Polls with nothing new: no change, the same state object.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(changes, 0);
    assert.equal(registry.current(), before);

    eureka.put({
      app: 'REVIEWS',
      hostName: 'reviews.local',
      ipAddr: '10.0.0.2',
      port: 9080,
      metadata: { version: 'v2' },
    });
    await eventually(() => {
      assert.equal(registry.current().endpoints.get('reviews.local')?.length, 2);
    });
    const after = registry.current();
    assert.equal(after.services.get('reviews.local'), before.services.get('reviews.local'));
    assert.equal(after.services.get('ratings.local'), before.services.get('ratings.local'));
    assert.equal(after.endpoints.get('ratings.local'), before.endpoints.get('ratings.local'));
    assert.notEqual(after.endpoints.get('reviews.local'), before.endpoints.get('reviews.local'));
    assert.equal(changes, 1);

    eureka.remove('ratings.local:10.0.1.1');
    await eventually(() => {
      assert.equal(registry.current().services.has('ratings.local'), false);
    });
    off();
    // 0.2's path first (404 here: this server is at /eureka/v2), never again once found.
    assert.equal(eureka.requests.filter((r) => r === '/eureka/apps').length, 0);
  });

  it('finds Spring Cloud’s /eureka/apps, or the path the URL gives', async () => {
    eureka.basePath = '/eureka';
    eureka.put({ app: 'A', hostName: 'a.local', ipAddr: '10.0.0.1' });
    start();
    await eventually(() => {
      assert.equal(registry.notSynced(), undefined);
    });
    assert.deepEqual(eureka.requests.slice(0, 2), ['/eureka/v2/apps', '/eureka/apps']);
    await registry.stop();
    eureka.basePath = '/custom/eureka';
    start(`${eureka.url}/custom/eureka`);
    await eventually(() => {
      assert.equal(registry.notSynced(), undefined);
    });
  });

  it('keeps the last good view while Eureka fails, and catches up', async () => {
    eureka.put({ app: 'A', hostName: 'a.local', ipAddr: '10.0.0.1' });
    start();
    await eventually(() => {
      assert.equal(registry.notSynced(), undefined);
    });
    const view = registry.current();
    for (const [mode, re] of [
      ['garbage', /eureka\/v2\/apps: the answer is not JSON/],
      ['http500', /HTTP 500/],
      ['wrong-shape', /instance\[0\]\.port: must be an object/],
    ] as const) {
      eureka.mode = mode;
      await eventually(() => {
        assert.equal(registry.status().state, 'down');
        assert.match(registry.status().lastError ?? '', re);
      });
      assert.equal(registry.current(), view);
    }
    eureka.mode = 'ok';
    await eureka.stop();
    await eventually(() => {
      assert.match(registry.status().lastError ?? '', /cannot connect/);
    });
    eureka.put({ app: 'B', hostName: 'b.local', ipAddr: '10.0.0.2' });
    await eureka.start();
    await eventually(() => {
      assert.equal(registry.status().state, 'synced');
      assert.ok(registry.current().services.has('b.local'));
    });
    assert.equal(registry.current().services.get('a.local'), view.services.get('a.local'));
  });

  it('is not synced before its first answer; a server with no apps path says where it looked', async () => {
    eureka.basePath = '/elsewhere';
    start();
    await eventually(() => {
      assert.match(
        registry.notSynced() ?? '',
        /Eureka registry not synced yet: Eureka http:\/\/127\.0\.0\.1:\d+: HTTP 404 from http:\/\/127\.0\.0\.1:\d+\/eureka\/v2\/apps, http:\/\/127\.0\.0\.1:\d+\/eureka\/apps/,
      );
    });
  });
});

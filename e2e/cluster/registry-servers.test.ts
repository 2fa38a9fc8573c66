/**
 * The registry servers Pilot's Consul and Eureka registries are tested against: each starts on
 * loopback, takes an instance, gives it back through its HTTP API, survives a restart on the same
 * ports, and is gone when stopped.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { closeHttpServer, listenOn } from '../../lib/listen.ts';
import { TestConsul } from './consul-server.ts';
import { eventually } from './eventually.ts';
import { TestEureka } from './eureka-server.ts';
import { processGone } from './server-process.ts';

describe('a real Consul agent for the registry tests', function () {
  this.timeout(120_000);
  const consul = new TestConsul({ nodeMeta: { zone: 'a' } });
  before(async () => {
    await consul.start();
  });
  after(async () => {
    await consul.remove();
  });

  it('listens on loopback and has a leader', async () => {
    assert.match(consul.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(await consul.get<string>('/v1/status/leader'), /^127\.0\.0\.1:\d+$/);
  });

  it('gives back a catalog registration with tags, NodeMeta and ServiceMeta', async () => {
    await consul.registerCatalog({
      node: 'vm-1',
      nodeAddress: '10.0.0.1',
      nodeMeta: { rack: 'r1' },
      service: {
        name: 'reviews',
        id: 'reviews-1',
        address: '10.0.0.1',
        port: 9080,
        tags: ['protocol=http', 'version=v1'],
        meta: { owner: 'team-a' },
      },
    });
    const [entry, ...rest] = await consul.catalogService('reviews');
    assert.equal(rest.length, 0);
    assert.equal(entry?.Node, 'vm-1');
    assert.deepEqual(entry.NodeMeta, { rack: 'r1' });
    assert.equal(entry.ServiceAddress, '10.0.0.1');
    assert.equal(entry.ServicePort, 9080);
    assert.deepEqual(entry.ServiceTags, ['protocol=http', 'version=v1']);
    assert.deepEqual(entry.ServiceMeta, { owner: 'team-a' });
    const [health] = await consul.healthService('reviews');
    assert.deepEqual(
      health?.Checks.map((c) => [c.CheckID, c.Status]),
      [['service:reviews-1', 'passing']],
    );
    await consul.deregisterCatalog('vm-1', 'reviews-1');
    assert.deepEqual(await consul.catalogService('reviews'), []);
  });

  it('runs a TTL check on an agent service and follows setCheck', async () => {
    await consul.registerAgentService(
      { name: 'ratings', id: 'ratings-1', address: '127.0.0.1', port: 9081, tags: ['v2'] },
      { ttl: '60s' },
    );
    const status = async (): Promise<string | undefined> => {
      const [h] = await consul.healthService('ratings');
      return h?.Checks.find((c) => c.CheckID === 'service:ratings-1')?.Status;
    };
    assert.equal(await status(), 'passing');
    const [h] = await consul.healthService('ratings');
    assert.equal(h?.Node.Node, consul.node);
    assert.deepEqual(h.Node.Meta?.['zone'], 'a');
    await consul.setCheck('service:ratings-1', 'critical', 'down for the test');
    await eventually(async () => {
      assert.equal(await status(), 'critical');
    });
    await consul.setCheck('service:ratings-1', 'passing');
    await eventually(async () => {
      assert.equal(await status(), 'passing');
    });
    await consul.deregisterAgentService('ratings-1');
    assert.deepEqual(await consul.healthService('ratings'), []);
  });

  it('runs an HTTP check against a loopback endpoint', async () => {
    let code = 200;
    const srv = createServer((_req, res) => {
      res.writeHead(code).end();
    });
    const port = await listenOn(srv, 0, '127.0.0.1');
    try {
      await consul.registerAgentService(
        { name: 'web', address: '127.0.0.1', port },
        { http: `http://127.0.0.1:${String(port)}/health`, interval: '1s' },
      );
      const status = async (): Promise<string | undefined> =>
        (await consul.healthService('web'))[0]?.Checks.find((c) => c.CheckID === 'service:web')
          ?.Status;
      await eventually(async () => {
        assert.equal(await status(), 'passing');
      });
      code = 503;
      await eventually(
        async () => {
          assert.equal(await status(), 'critical');
        },
        { timeoutMs: 15_000 },
      );
      await consul.deregisterAgentService('web');
    } finally {
      await closeHttpServer(srv);
    }
  });

  it('restarts on the same port with an empty catalog, then stops', async () => {
    await consul.registerAgentService({ name: 'details', address: '127.0.0.1', port: 9082 });
    const url = consul.url;
    const before = consul.pid;
    await consul.restart();
    assert.equal(consul.url, url);
    assert.notEqual(consul.pid, before);
    assert.deepEqual(await consul.catalogService('details'), []);
    const pid = consul.pid;
    assert.ok(pid !== undefined);
    await consul.stop();
    assert.equal(processGone(pid), true, `consul ${String(pid)} is gone`);
    await assert.rejects(fetch(`${url}/v1/status/leader`));
  });
});

describe('a real Eureka server for the registry tests', function () {
  this.timeout(240_000);
  const eureka = new TestEureka();
  before(async () => {
    await eureka.start();
  });
  after(async () => {
    await eureka.remove();
  });

  const instance = {
    app: 'reviews',
    instanceId: '10.0.0.1:reviews:9080',
    ipAddr: '10.0.0.1',
    port: 9080,
    metadata: { istio: 'yes' },
  } as const;

  it('gives back a registration at once', async () => {
    assert.match(eureka.url, /^http:\/\/127\.0\.0\.1:\d+\/eureka$/);
    await eureka.register(instance);
    const app = await eureka.app('reviews');
    assert.equal(app?.name, 'REVIEWS');
    const [got, ...rest] = app.instance;
    assert.equal(rest.length, 0);
    assert.equal(got?.instanceId, instance.instanceId);
    assert.equal(got.status, 'UP');
    assert.deepEqual(got.port, { $: 9080, '@enabled': 'true' });
    assert.equal(got.securePort['@enabled'], 'false');
    assert.deepEqual(got.metadata, { istio: 'yes' });
    assert.deepEqual(
      (await eureka.apps()).map((a) => a.name),
      ['REVIEWS'],
    );
  });

  it('renews, overrides the status and cancels', async () => {
    await eureka.heartbeat('reviews', instance.instanceId);
    await eureka.setStatus('reviews', instance.instanceId, 'OUT_OF_SERVICE');
    assert.equal((await eureka.app('reviews'))?.instance[0]?.status, 'OUT_OF_SERVICE');
    await eureka.clearStatus('reviews', instance.instanceId);
    assert.equal((await eureka.app('reviews'))?.instance[0]?.status, 'UP');
    await eureka.deregister('reviews', instance.instanceId);
    assert.equal(await eureka.app('reviews'), undefined);
    await assert.rejects(eureka.heartbeat('reviews', instance.instanceId), /: 404/);
  });

  it('restarts on the same port with an empty registry, then stops', async () => {
    await eureka.register(instance);
    const url = eureka.url;
    await eureka.restart();
    assert.equal(eureka.url, url);
    assert.deepEqual(await eureka.apps(), []);
    const pid = eureka.pid;
    assert.ok(pid !== undefined);
    await eureka.stop();
    assert.equal(processGone(pid), true, `eureka ${String(pid)} is gone`);
    await assert.rejects(fetch(`${url}/apps`));
  });
});

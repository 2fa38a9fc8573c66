/** docs/reference/pilot.md, xDS rule 10: incremental xDS (DeltaAggregatedResources) on raw streams. */
import assert from 'node:assert/strict';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { MemoryRegistry } from '../model/memory-registry.ts';
import { endpoint, service } from '../testing/fixtures.ts';
import { startHarness, type Harness } from '../testing/harness.ts';
import { fixtureRegistry, fixtureServices } from '../testing/mesh-fixture.ts';
import { RawDeltaClient } from '../testing/raw-delta-client.ts';

const sidecarId = 'sidecar~10.1.0.1~reviews-1.shop~shop.svc.cluster.local';
const reviews = fixtureServices.reviews.hostname;
const reviewsCluster = `outbound|9080||${reviews}`;
const echoCluster = 'outbound|50051||echo.shop.svc.cluster.local';
const names = (r: { resources: { name: string }[] }) => r.resources.map((x) => x.name).sort();

describe('ADS server: incremental xDS', () => {
  let registry: MemoryRegistry;
  let h: Harness;
  const clients: RawDeltaClient[] = [];

  function client(): RawDeltaClient {
    const c = new RawDeltaClient(h.address, sidecarId);
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    registry = fixtureRegistry();
    h = await startHarness({ registry });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await h.close();
  });

  it('a wildcard CDS subscription gets every cluster with its version; an ACK gets nothing', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    const r = await c.next();
    assert.ok(names(r).includes(reviewsCluster));
    assert.ok(r.resources.every((x) => x.version !== '' && x.typeUrl === TypeUrl.Cluster));
    assert.deepEqual(r.removed, []);
    c.ack(r);
    await c.none();
  });

  it('sends only what changed, and names what was removed', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    c.ack(await c.next());
    registry.batch((b) => {
      b.deleteService(fixtureServices.db.hostname);
      b.setService(service('fresh', 'shop', { http: 7070 }, '10.0.0.80'));
    });
    const r = await c.next();
    assert.deepEqual(names(r), ['outbound|7070||fresh.shop.svc.cluster.local']);
    assert.deepEqual(r.removed, ['outbound|27017||db.shop.svc.cluster.local']);
  });

  it('subscribes and unsubscribes names; a name subscribed again is sent again', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, subscribe: [reviewsCluster] });
    const first = await c.next();
    assert.deepEqual(names(first), [reviewsCluster]);
    c.ack(first, { subscribe: [echoCluster] });
    assert.deepEqual(names(await c.next()), [echoCluster]);
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, unsubscribe: [echoCluster] });
    await c.none();
    registry.setEndpoints(fixtureServices.echo.hostname, [endpoint('10.1.0.40', 50051, 'grpc')]);
    await c.none(); // echo is no longer subscribed
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, subscribe: [echoCluster] });
    assert.deepEqual(names(await c.next()), [echoCluster]);
  });

  it('a reconnecting client with current versions gets only what changed since', async () => {
    const c1 = client();
    c1.send({ typeUrl: TypeUrl.Cluster });
    const all = await c1.next();
    c1.close();
    registry.setService(service('fresh', 'shop', { http: 7070 }, '10.0.0.80'));
    await new Promise((r) => setTimeout(r, 100));
    const c2 = client();
    c2.send({
      typeUrl: TypeUrl.Cluster,
      initialVersions: Object.fromEntries(all.resources.map((x) => [x.name, x.version])),
    });
    const r = await c2.next();
    assert.deepEqual(names(r), ['outbound|7070||fresh.shop.svc.cluster.local']);
  });

  it('keeps a removed cluster until no route the client holds names it', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    c.ack(await c.next());
    c.send({ typeUrl: TypeUrl.RouteConfiguration, subscribe: ['9080'] });
    const rds = await c.next();
    c.ack(rds);
    registry.deleteService(fixtureServices.otherReviews.hostname);
    const other = `outbound|9080||${fixtureServices.otherReviews.hostname}`;
    const routes = await c.next();
    assert.equal(routes.typeUrl, TypeUrl.RouteConfiguration, 'routes first: CDS keeps the cluster');
    c.ack(routes);
    const cds = await c.next();
    assert.equal(cds.typeUrl, TypeUrl.Cluster);
    assert.deepEqual(cds.removed, [other]);
  });
});

/**
 * The xDS v3 rules of docs/reference/pilot.md ("xDS v3 rules"), one or more tests each, on raw ADS streams against the real
 * gRPC server on a loopback port.
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage } from '../../lib/xds/protos.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { MemoryRegistry } from '../model/memory-registry.ts';
import { AdsPath } from './ads-server.ts';
import { endpoint, service } from '../testing/fixtures.ts';
import { startHarness, type Harness } from '../testing/harness.ts';
import { fixtureRegistry, fixtureServices } from '../testing/mesh-fixture.ts';
import { RawAdsClient, names, type RawResponse } from '../testing/raw-ads-client.ts';

const sidecarId = 'sidecar~10.1.0.1~reviews-1.shop~shop.svc.cluster.local';
const reviews = fixtureServices.reviews.hostname;
const reviewsCluster = `outbound|9080||${reviews}`;
const echoCluster = 'outbound|50051||echo.shop.svc.cluster.local';

describe('ADS server (xDS v3 rules)', () => {
  let registry: MemoryRegistry;
  let h: Harness;
  const clients: RawAdsClient[] = [];

  function client(id = sidecarId, metadata: Record<string, unknown> = {}): RawAdsClient {
    const c = new RawAdsClient(h.address, id, metadata);
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

  /** Subscribes to all four types the way Envoy does, ACKing each, and returns the responses. */
  async function fullSubscription(c: RawAdsClient): Promise<Map<string, RawResponse>> {
    const got = new Map<string, RawResponse>();
    c.send({ typeUrl: TypeUrl.Cluster });
    const cds = await c.next();
    got.set(cds.typeUrl, cds);
    c.ack(cds);
    const edsNames = names(cds).filter((n) => n.startsWith('outbound|'));
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: edsNames });
    const eds = await c.next();
    got.set(eds.typeUrl, eds);
    c.ack(eds, edsNames);
    c.send({ typeUrl: TypeUrl.Listener });
    const lds = await c.next();
    got.set(lds.typeUrl, lds);
    c.ack(lds);
    c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: ['9080', '50051', '8080'] });
    const rds = await c.next();
    got.set(rds.typeUrl, rds);
    c.ack(rds, ['9080', '50051', '8080']);
    return got;
  }

  it('1. serves StreamAggregatedResources', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    const r = await c.next();
    assert.equal(r.typeUrl, TypeUrl.Cluster);
    assert.ok(r.nonce !== '' && r.versionInfo !== '');
  });

  it('2. keeps a version and nonce per type; only the first request needs the node', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    const cds = await c.next();
    c.ack(cds);
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [reviewsCluster] });
    const eds = await c.next();
    assert.equal(eds.typeUrl, TypeUrl.ClusterLoadAssignment);
    assert.notEqual(eds.nonce, cds.nonce);
  });

  it('3a. sends nothing in answer to an ACK', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    c.ack(await c.next());
    await c.none();
  });

  it('3b. records a NACK, keeps the last good version, does not resend the same config', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    const first = await c.next();
    c.ack(first);
    registry.setService(service('new', 'shop', { http: 80 }, '10.0.0.50'));
    const second = await c.next();
    c.nack(second, 'cluster outbound|80||new rejected');
    await c.none();
    const cdsStatus = h.discovery.connections()[0]?.types['CDS'];
    assert.ok(cdsStatus?.lastNack);
    assert.equal(cdsStatus.ackedVersion, first.versionInfo);
    assert.equal(cdsStatus.lastNack.message, 'cluster outbound|80||new rejected');
    assert.equal(cdsStatus.lastNack.version, second.versionInfo);
    // A real change is sent again.
    registry.deleteService(fixtureServices.db.hostname);
    const third = await c.next();
    assert.ok(!names(third).includes('outbound|27017||db.shop.svc.cluster.local'));
  });

  it('4a. ignores a request with a stale nonce', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [reviewsCluster] });
    const first = await c.next();
    c.ack(first, [reviewsCluster]);
    registry.setEndpoints(reviews, [endpoint('10.1.0.9', 9080, 'http')]);
    const second = await c.next();
    // A request still naming the first nonce: stale, so its new subscription is ignored.
    c.send({
      typeUrl: TypeUrl.ClusterLoadAssignment,
      responseNonce: first.nonce,
      resourceNames: [reviewsCluster, echoCluster],
    });
    await c.none();
    c.ack(second, [reviewsCluster, echoCluster]);
    const third = await c.next();
    assert.deepEqual(names(third), [echoCluster]);
  });

  it('4b. sends only on change: a push with identical content sends nothing', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    c.ack(await c.next());
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [reviewsCluster] });
    c.ack(await c.next(), [reviewsCluster]);
    const same = registry.current().endpoints.get(reviews) ?? [];
    registry.setEndpoints(reviews, [...same]); // new objects, same content
    await c.none(400);
  });

  it('5a. sends a newly subscribed name even though it did not change', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [reviewsCluster] });
    const first = await c.next();
    c.ack(first, [reviewsCluster, echoCluster]);
    const second = await c.next();
    assert.deepEqual(names(second), [echoCluster]);
    c.ack(second, [reviewsCluster]); // unsubscribe echo
    await c.none();
    c.ack(second, [reviewsCluster, echoCluster]); // and again
    assert.deepEqual(names(await c.next()), [echoCluster]);
  });

  it('5b. remembers a name that does not exist yet and sends it once it does', async () => {
    const c = client();
    const future = 'outbound|80||later.shop.svc.cluster.local';
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [future] });
    const first = await c.next();
    assert.deepEqual(names(first), []);
    c.ack(first, [future]);
    await c.none();
    registry.batch((b) => {
      b.setService(service('later', 'shop', { http: 80 }, '10.0.0.60'));
      b.setEndpoints('later.shop.svc.cluster.local', [endpoint('10.1.1.1', 8080, 'http')]);
    });
    assert.deepEqual(names(await c.next()), [future]);
  });

  it('6a. wildcard CDS and LDS carry the full set, and omit deleted resources', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    const cds = await c.next();
    const all = names(cds);
    assert.ok(all.includes(reviewsCluster) && all.includes('PassthroughCluster'));
    c.ack(cds);
    c.send({ typeUrl: TypeUrl.Listener });
    const lds = await c.next();
    assert.deepEqual(names(lds).sort(), ['virtualInbound', 'virtualOutbound']);
    c.ack(lds);
    registry.deleteService(fixtureServices.cache.hostname);
    // The listener named the cache's cluster: it goes first, then CDS drops the cluster.
    const lds2 = await c.next();
    assert.equal(lds2.typeUrl, TypeUrl.Listener);
    c.ack(lds2);
    const cds2 = await c.next();
    assert.equal(cds2.typeUrl, TypeUrl.Cluster);
    assert.deepEqual(names(cds2).sort(), all.filter((n) => !n.includes('cache.shop')).sort());
  });

  it('6b. an empty EDS or RDS request is not a wildcard', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment });
    const eds = await c.next();
    assert.deepEqual(names(eds), []);
    c.ack(eds);
    c.send({ typeUrl: TypeUrl.RouteConfiguration });
    assert.deepEqual(names(await c.next()), []);
  });

  it('7. never puts one name twice in a response', async () => {
    const c = client();
    await fullSubscription(c);
    registry.deleteService(reviews);
    registry.setService(service('new', 'shop', { http: 9080 }, '10.0.0.70'));
    await new Promise((r) => setTimeout(r, 300));
    for (const r of c.received) {
      const n = names(r);
      assert.equal(new Set(n).size, n.length, `${r.typeUrl}: ${n.join(',')}`);
    }
  });

  it('8a. pushes CDS, then EDS, then LDS, then RDS, each after the previous ACK', async () => {
    const c = client();
    // Everything requested at once, nothing ACKed yet.
    c.send({ typeUrl: TypeUrl.Cluster });
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [reviewsCluster] });
    c.send({ typeUrl: TypeUrl.Listener });
    c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: ['9080'] });
    const cds = await c.next();
    assert.equal(cds.typeUrl, TypeUrl.Cluster);
    await c.none(200);
    c.ack(cds);
    const eds = await c.next();
    assert.equal(eds.typeUrl, TypeUrl.ClusterLoadAssignment);
    c.ack(eds, [reviewsCluster]);
    const lds = await c.next();
    assert.equal(lds.typeUrl, TypeUrl.Listener);
    c.ack(lds);
    const rds = await c.next();
    assert.equal(rds.typeUrl, TypeUrl.RouteConfiguration);
  });

  it('8b. make before break: a removed service keeps its cluster until the routes drop it', async () => {
    const c = client();
    const first = await fullSubscription(c);
    const other = `outbound|9080||${fixtureServices.otherReviews.hostname}`;
    const fresh = 'outbound|7070||fresh.shop.svc.cluster.local';
    registry.batch((b) => {
      b.deleteService(fixtureServices.otherReviews.hostname);
      b.setService(service('fresh', 'shop', { http: 7070 }, '10.0.0.80'));
    });
    const cds1 = await c.next();
    assert.equal(cds1.typeUrl, TypeUrl.Cluster);
    assert.ok(names(cds1).includes(fresh));
    assert.ok(names(cds1).includes(other), 'still named by route 9080');
    // As Envoy does: subscribe to the new clusters' endpoints, then ACK CDS.
    const edsNames = names(cds1).filter((n) => n.startsWith('outbound|'));
    const eds0 = first.get(TypeUrl.ClusterLoadAssignment);
    assert.ok(eds0);
    c.ack(eds0, edsNames);
    c.ack(cds1);
    const eds = await c.next();
    assert.equal(eds.typeUrl, TypeUrl.ClusterLoadAssignment);
    assert.deepEqual(names(eds), [fresh]);
    c.ack(eds, edsNames);
    const lds = await c.next();
    assert.equal(lds.typeUrl, TypeUrl.Listener);
    c.ack(lds);
    const rds = await c.next();
    assert.equal(rds.typeUrl, TypeUrl.RouteConfiguration);
    assert.deepEqual(names(rds), ['9080']);
    const rc = decodeMessage(
      TypeUrl.RouteConfiguration,
      rds.resources[0]?.value ?? new Uint8Array(),
    );
    assert.ok(!JSON.stringify(rc).includes(other));
    c.ack(rds, ['9080', '50051', '8080', '7070']);
    // Now no route names the other namespace's cluster: CDS drops it, then the new route follows.
    const cds2 = await c.next();
    assert.equal(cds2.typeUrl, TypeUrl.Cluster);
    assert.ok(!names(cds2).includes(other));
    assert.ok(names(cds2).includes(fresh));
    c.ack(cds2);
    const rds2 = await c.next();
    assert.deepEqual(names(rds2), ['7070'], 'a newly subscribed route');
  });

  it('8c. a route never names a cluster the client has not got', async () => {
    const c = client();
    await fullSubscription(c);
    // Add a service on a new HTTP port, remove one, change endpoints: all in one push.
    registry.batch((b) => {
      b.setService(service('fresh', 'shop', { http: 7070 }, '10.0.0.80'));
      b.setEndpoints('fresh.shop.svc.cluster.local', [endpoint('10.1.2.1', 7070, 'http')]);
      b.deleteService(reviews);
    });
    const held = new Map<string, Map<string, Uint8Array>>();
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      let r: RawResponse;
      try {
        r = await c.next(400);
      } catch {
        break;
      }
      const m = held.get(r.typeUrl) ?? new Map<string, Uint8Array>();
      if (r.typeUrl === TypeUrl.Cluster || r.typeUrl === TypeUrl.Listener) m.clear();
      for (const res of r.resources) m.set(names({ ...r, resources: [res] })[0] ?? '', res.value);
      held.set(r.typeUrl, m);
      const clusters = held.get(TypeUrl.Cluster) ?? new Map<string, Uint8Array>();
      for (const route of held.get(TypeUrl.RouteConfiguration)?.values() ?? []) {
        for (const m2 of JSON.stringify(decodeMessage(TypeUrl.RouteConfiguration, route)).matchAll(
          /"cluster":"([^"]+)"/g,
        )) {
          assert.ok(clusters.has(m2[1] ?? ''), `route names ${m2[1] ?? ''} before CDS has it`);
        }
      }
      const subs =
        r.typeUrl === TypeUrl.RouteConfiguration
          ? ['9080', '50051', '8080', '7070']
          : r.typeUrl === TypeUrl.ClusterLoadAssignment
            ? [...clusters.keys()].filter((n) => n.startsWith('outbound|'))
            : [];
      c.ack(r, subs);
    }
    assert.ok(held.get(TypeUrl.Cluster)?.has('outbound|7070||fresh.shop.svc.cluster.local'));
  });

  it('9. answers a named subscription with exactly the named subset', async () => {
    const c = client();
    c.send({
      typeUrl: TypeUrl.ClusterLoadAssignment,
      resourceNames: [reviewsCluster, echoCluster],
    });
    assert.deepEqual(names(await c.next()).sort(), [echoCluster, reviewsCluster].sort());
    const g = client('grpc-1', { GENERATOR: 'grpc' });
    g.send({ typeUrl: TypeUrl.Listener, resourceNames: [`${reviews}:9080`] });
    assert.deepEqual(names(await g.next()), [`${reviews}:9080`]);
    g.send({ typeUrl: TypeUrl.Cluster, resourceNames: [reviewsCluster] });
    assert.deepEqual(names(await g.next()), [reviewsCluster]);
  });

  it('refuses a stream whose node id it cannot read, with INVALID_ARGUMENT', async () => {
    const c = client('not-a-proxy');
    c.send({ typeUrl: TypeUrl.Cluster });
    const s = await c.ended();
    assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
    assert.match(s.details, /node id/);
  });

  it('refuses a request whose bytes are not a DiscoveryRequest, with INVALID_ARGUMENT', async () => {
    const raw = new grpc.Client(h.address, grpc.credentials.createInsecure());
    try {
      const call = raw.makeBidiStreamRequest(
        AdsPath,
        (b: Buffer) => b,
        (b: Buffer) => b,
      );
      const ended = new Promise<grpc.StatusObject>((resolve) => {
        call.on('status', resolve);
      });
      call.on('error', () => undefined);
      call.write(Buffer.from([0xff, 0xff, 0xff]));
      const s = await ended;
      assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
      assert.match(s.details, /could not be decoded/);
    } finally {
      raw.close();
    }
  });

  it('debounces a burst of changes into one push', async () => {
    const c = client();
    c.send({ typeUrl: TypeUrl.Cluster });
    c.ack(await c.next());
    const before = h.discovery.current()?.version ?? 0;
    for (let i = 0; i < 20; i++)
      registry.setService(service(`burst${i}`, 'shop', { http: 80 }, `10.0.1.${i}`));
    const r = await c.next();
    c.ack(r);
    await c.none(200);
    assert.equal(h.discovery.current()?.version, before + 1);
    assert.equal(names(r).filter((n) => n.includes('burst')).length, 20);
  });
});

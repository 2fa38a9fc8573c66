/**
 * Make before break for clients that subscribe to clusters by name (proxyless gRPC): they ask
 * for a version's cluster only after a route names it, and hold it while calls on an older
 * route are in flight. Pilot must never answer such a client with a CDS response that leaves
 * out a cluster it still asks for (it would take it as deleted), and must serve a late
 * subscription from the snapshot the route naming it came from.
 */
import assert from 'node:assert/strict';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { parseCrdObject } from '../config/parse.ts';
import { ConfigStore } from '../config/store.ts';
import { startHarness, type Harness } from '../testing/harness.ts';
import { RawAdsClient, names, type RawResponse } from '../testing/raw-ads-client.ts';
import { crd, host, trafficRegistry } from '../testing/traffic-fixture.ts';

const reviews = host('reviews');
const listener = `${reviews}:9080`;
const all = `outbound|9080||${reviews}`;
const v1 = `outbound|9080|version=v1|${reviews}`;
const v2 = `outbound|9080|version=v2|${reviews}`;

function rule(version: string): object {
  return crd('RouteRule', 'r', {
    destination: { name: 'reviews' },
    route: [{ labels: { version } }],
  });
}

describe('ADS: clusters subscribed to by name', () => {
  let h: Harness;
  let config: ConfigStore;
  let c: RawAdsClient;

  function setRule(version: string): void {
    const p = parseCrdObject('RouteRule', rule(version), 'cluster.local');
    assert.ok(p);
    config.set(p.key, p.entry);
  }

  beforeEach(async () => {
    config = new ConfigStore();
    setRule('v1');
    h = await startHarness({ registry: trafficRegistry(), config });
    c = new RawAdsClient(h.address, 'grpc-client', { GENERATOR: 'grpc', NAMESPACE: 'shop' });
  });

  afterEach(async () => {
    c.close();
    await h.close();
  });

  async function nextOf(type: string): Promise<RawResponse> {
    for (;;) {
      const r = await c.next();
      if (r.typeUrl === type) return r;
    }
  }

  /** LDS and RDS as a gRPC client asks for them; returns the ACKed route configuration. */
  async function routes(): Promise<RawResponse> {
    c.send({ typeUrl: TypeUrl.Listener, resourceNames: [listener] });
    c.ack(await nextOf(TypeUrl.Listener), [listener]);
    c.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: [listener] });
    const rds = await nextOf(TypeUrl.RouteConfiguration);
    c.ack(rds, [listener]);
    return rds;
  }

  it('keeps sending a cluster the client still asks for after the routes stopped naming it', async () => {
    await routes();
    c.send({ typeUrl: TypeUrl.Cluster, resourceNames: [all, v1] });
    const cds = await nextOf(TypeUrl.Cluster);
    assert.deepEqual(names(cds).sort(), [all, v1].sort());
    c.ack(cds, [all, v1]);
    setRule('v2');
    const rds = await nextOf(TypeUrl.RouteConfiguration);
    c.ack(rds, [listener]);
    // Calls on the old route may be in flight: the client still subscribes to v1, and gets v2.
    c.send({
      typeUrl: TypeUrl.Cluster,
      resourceNames: [all, v1, v2],
      responseNonce: cds.nonce,
      versionInfo: cds.versionInfo,
    });
    const both = await nextOf(TypeUrl.Cluster);
    assert.deepEqual(names(both).sort(), [all, v1, v2].sort(), 'v1 is not declared deleted');
    c.ack(both, [all, v1, v2]);
    // Once it lets go of v1, Pilot holds on to it no longer (no response needed for that).
    c.send({
      typeUrl: TypeUrl.Cluster,
      resourceNames: [all, v2],
      responseNonce: both.nonce,
      versionInfo: both.versionInfo,
    });
    await c.none();
    assert.equal(h.discovery.connections()[0]?.types['CDS']?.resources, 2);
  });

  it('says when the client holds its snapshot in full', async () => {
    await routes();
    await c.none(100); // the ACKs reach the server
    const status = () => h.discovery.connections()[0];
    assert.ok(status()?.snapshotVersion !== undefined);
    assert.equal(status()?.syncedVersion, status()?.snapshotVersion);
    setRule('v2');
    const rds = await nextOf(TypeUrl.RouteConfiguration);
    assert.equal(status()?.syncedVersion, undefined, 'routes sent, not yet ACKed');
    c.ack(rds, [listener]);
    await c.none(100);
    assert.equal(status()?.syncedVersion, status()?.snapshotVersion);
  });

  it('serves a late subscription from the snapshot the route naming it came from', async () => {
    await routes(); // ACKed: routes to v1
    setRule('v2'); // the current snapshot no longer has v1; its routes are sent, not yet ACKed
    await nextOf(TypeUrl.RouteConfiguration);
    c.send({ typeUrl: TypeUrl.Cluster, resourceNames: [all, v1] });
    const cds = await nextOf(TypeUrl.Cluster);
    assert.deepEqual(names(cds).sort(), [all, v1].sort());
    c.ack(cds, [all, v1]);
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [v1] });
    const eds = await nextOf(TypeUrl.ClusterLoadAssignment);
    assert.deepEqual(names(eds), [v1], 'and its endpoints');
  });
});

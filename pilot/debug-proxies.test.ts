/**
 * The operator pages on a running Pilot: `/debug/proxy_status` says per proxy and type SYNCED,
 * STALE or NACKED with the NACK's message; `/debug/config_dump` holds what the proxy ACKed (not
 * what was sent after); the same pages answer over ADS (type `istio.io/debug`) without the debug
 * stream counting as a proxy.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import { DebugTypeUrl, parseConfigDumpPage, parseProxyStatusPage } from '../lib/xds/debug-pages.ts';
import { eventually } from '../lib/testing/eventually.ts';
import { TypeUrl } from '../lib/xds/type-urls.ts';
import { runPilot, type RunningPilot } from './run.ts';
import { fixtureRegistry } from './testing/mesh-fixture.ts';
import { RawAdsClient } from './testing/raw-ads-client.ts';

const sidecar = 'sidecar~10.9.0.1~reviews-1.shop~shop.svc.cluster.local';
const gateway = 'router~10.1.0.9~istio-ingress-1.istio-system~istio-system.svc.cluster.local';

describe('pilot operator pages: /debug/proxy_status and /debug/config_dump', () => {
  let pilot: RunningPilot;
  let base: string;
  const clients: RawAdsClient[] = [];

  before(async () => {
    pilot = await runPilot({
      logger: pino({ level: 'silent' }),
      mesh: { ...defaultMeshConfig, authPolicy: 'MUTUAL_TLS' },
      registry: fixtureRegistry(),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      httpHost: '127.0.0.1',
      httpPort: 0,
      debounceMs: 10,
      debounceMaxMs: 50,
      domain: 'cluster.local',
      instance: 'pilot-a',
    });
    base = `http://127.0.0.1:${String(pilot.httpPort)}`;
  });

  after(async () => {
    for (const c of clients) c.close();
    await pilot.close();
  });

  function client(id: string, metadata: Record<string, unknown> = {}): RawAdsClient {
    const c = new RawAdsClient(`127.0.0.1:${String(pilot.xdsPort)}`, id, metadata);
    clients.push(c);
    return c;
  }

  async function page(path: string): Promise<{ status: number; body: unknown }> {
    const r = await fetch(`${base}${path}`);
    return { status: r.status, body: await r.json() };
  }

  it('says SYNCED, STALE and NACKED per type, with the NACK message and the Pilot', async () => {
    const s = client(sidecar);
    s.send({ typeUrl: TypeUrl.Cluster });
    const cds = await s.next();
    s.ack(cds);
    s.send({ typeUrl: TypeUrl.Listener });
    const lds = await s.next();
    assert.equal(lds.typeUrl, TypeUrl.Listener);
    s.nack(lds, 'listener refused: bad filter');

    const g = client(gateway);
    g.send({ typeUrl: TypeUrl.Cluster });
    await g.next(); // left unanswered: STALE

    const grpc = client('grpc-client-7', { GENERATOR: 'grpc', NAMESPACE: 'shop' });
    grpc.send({
      typeUrl: TypeUrl.Listener,
      resourceNames: ['reviews.shop.svc.cluster.local:9080'],
    });
    grpc.ack(await grpc.next(), ['reviews.shop.svc.cluster.local:9080']);

    await eventually(async () => {
      const { status, body } = await page('/debug/proxy_status');
      assert.equal(status, 200);
      const p = parseProxyStatusPage(body);
      assert.equal(p.pilot, 'pilot-a');
      const byName = new Map(p.proxies.map((x) => [x.name, x]));
      const r = byName.get('reviews-1');
      assert.ok(r, JSON.stringify(p.proxies.map((x) => x.name)));
      assert.deepEqual(
        [r.kind, r.namespace, r.ip, r.pilot, r.types.CDS.state, r.types.LDS.state],
        ['sidecar', 'shop', '10.9.0.1', 'pilot-a', 'SYNCED', 'NACKED'],
      );
      assert.equal(r.types.LDS.nack?.message, 'listener refused: bad filter');
      assert.equal(r.types.EDS.state, 'NOT SENT');
      const gw = byName.get('istio-ingress-1');
      assert.deepEqual(
        [gw?.kind, gw?.namespace, gw?.types.CDS.state],
        ['gateway', 'istio-system', 'STALE'],
      );
      const px = byName.get('grpc-client-7');
      assert.deepEqual(
        [px?.kind, px?.namespace, px?.types.LDS.state],
        ['proxyless', 'shop', 'SYNCED'],
      );
    });
  });

  it('dumps what a proxy ACKed, found by pod.namespace, and the secrets its TLS names', async () => {
    const { status, body } = await page('/debug/config_dump?proxyID=reviews-1.shop');
    assert.equal(status, 200);
    const dump = parseConfigDumpPage(body);
    assert.equal(dump.proxy.id, sidecar);
    assert.ok(dump.types.CDS.resources.length > 0);
    assert.ok(dump.types.CDS.resources.every((r) => r['@type'] === TypeUrl.Cluster));
    // LDS was NACKED: the proxy holds none of it.
    assert.deepEqual(dump.types.LDS, { version: '', resources: [] });
    assert.deepEqual(
      dump.secrets.map((x) => [x.name, x.type]),
      [
        ['ROOTCA', 'CA'],
        ['default', 'Cert Chain'],
      ],
    );
    assert.ok(dump.secrets[0]?.usedBy.some((c) => c.startsWith('outbound|')));

    const only = parseConfigDumpPage(
      (await page('/debug/config_dump?proxyID=reviews-1&type=CDS')).body,
    );
    assert.deepEqual(only.types.LDS.resources, []);
    assert.equal(only.types.CDS.resources.length, dump.types.CDS.resources.length);
  });

  it('answers an unknown proxy with 404 naming it, and a missing proxyID with 400', async () => {
    const missing = await page('/debug/config_dump?proxyID=nobody.shop');
    assert.equal(missing.status, 404);
    assert.match(
      JSON.stringify(missing.body),
      /no proxy \\"nobody.shop\\" is connected \(Pilot pilot-a\)/,
    );
    assert.equal((await page('/debug/config_dump')).status, 400);
    assert.equal((await page('/debug/config_dump?proxyID=reviews-1&type=SDS')).status, 400);
  });

  it('serves the same pages over ADS, and the debug stream is no proxy', async () => {
    const d = client('istio-lite-cli');
    d.send({ typeUrl: DebugTypeUrl, resourceNames: ['proxy_status'] });
    const r = await d.next();
    assert.equal(r.typeUrl, DebugTypeUrl);
    const json: unknown = JSON.parse(new TextDecoder().decode(r.resources[0]?.value));
    const p = parseProxyStatusPage(json);
    assert.equal(p.pilot, 'pilot-a');
    assert.ok(!p.proxies.some((x) => x.id === 'istio-lite-cli'));
    d.send({ typeUrl: DebugTypeUrl, resourceNames: ['config_dump?proxyID=nobody'] });
    const e = await d.next();
    assert.match(
      new TextDecoder().decode(e.resources[0]?.value),
      /no proxy \\"nobody\\" is connected/,
    );
  });
});

/**
 * `istio-lite proxy-status` and `proxy-config` against a real Pilot with ADS clients connected
 * (one made to NACK), found the two ways that need no cluster: `.local/endpoints.json` as `npm
 * start` writes it (no flag), and `--xdsAddress` (the debug pages over ADS). The cluster way (the
 * istio-pilot Service's replicas through the API server) is in e2e/netns/proxy-status-apiserver.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import { eventually } from '../lib/testing/eventually.ts';
import { freePort } from '../lib/free-ports.ts';
import { TypeUrl } from '../lib/xds/type-urls.ts';
import { runPilot, type RunningPilot } from '../pilot/run.ts';
import { fixtureRegistry } from '../pilot/testing/mesh-fixture.ts';
import { RawAdsClient } from '../pilot/testing/raw-ads-client.ts';
import { main } from './main.ts';
import { captureIo } from './testing/capture-io.ts';

const sidecar = 'sidecar~10.9.0.1~reviews-1.shop~shop.svc.cluster.local';
const nacking = 'sidecar~10.9.0.2~ratings-1.shop~shop.svc.cluster.local';

describe('istio-lite proxy-status and proxy-config', function () {
  this.timeout(30_000);
  let pilot: RunningPilot;
  let dir: string;
  const clients: RawAdsClient[] = [];

  async function run(
    argv: string[],
    cwd = dir,
  ): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo(cwd, {});
    const code = await main(argv, io);
    return { code, out: io.out(), err: io.err() };
  }

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
      instance: 'pilot-local',
    });
    dir = mkdtempSync(join(tmpdir(), 'proxy-commands-'));
    mkdirSync(join(dir, '.local'));
    writeFileSync(
      join(dir, '.local', 'endpoints.json'),
      JSON.stringify({
        kubeconfig: join(dir, '.local', 'kubeconfig'),
        pilotXds: `127.0.0.1:${String(pilot.xdsPort)}`,
        pilotHttp: `127.0.0.1:${String(pilot.httpPort)}`,
        mixerMetrics: '127.0.0.1:1',
      }),
    );
    const address = `127.0.0.1:${String(pilot.xdsPort)}`;
    const ok = new RawAdsClient(address, sidecar);
    const bad = new RawAdsClient(address, nacking);
    clients.push(ok, bad);
    for (const type of [TypeUrl.Cluster, TypeUrl.Listener]) {
      ok.send({ typeUrl: type });
      ok.ack(await ok.next());
    }
    bad.send({ typeUrl: TypeUrl.Cluster });
    bad.ack(await bad.next());
    bad.send({ typeUrl: TypeUrl.Listener });
    bad.nack(await bad.next(), 'Error adding/updating listener(s) virtualOutbound: bad filter');
  });

  after(async () => {
    for (const c of clients) c.close();
    await pilot.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('proxy-status under npm start (no flag): one line per proxy, NACKs with -d', async () => {
    await eventually(async () => {
      const r = await run(['proxy-status', '-d']);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.split('\n');
      assert.match(lines[0] ?? '', /^NAME +NAMESPACE +KIND +CDS +LDS +EDS +RDS +PILOT$/);
      assert.match(
        r.out,
        /ratings-1\.shop +shop +sidecar +SYNCED +NACKED +NOT SENT +NOT SENT +pilot-local/,
      );
      assert.match(
        r.out,
        /reviews-1\.shop +shop +sidecar +SYNCED +SYNCED +NOT SENT +NOT SENT +pilot-local/,
      );
      assert.match(
        r.out,
        /ratings-1\.shop LDS NACKED \(version \d+, .*\): Error adding\/updating listener\(s\) virtualOutbound: bad filter/,
      );
    });
  });

  it('proxy-status --xdsAddress reads Pilot over xDS; -o json keeps every field', async () => {
    const r = await run(
      ['proxy-status', '-o', 'json', '--xdsAddress', `127.0.0.1:${String(pilot.xdsPort)}`],
      tmpdir(),
    );
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as {
      proxies: { id: string; types: { LDS: { nack: { message: string } | null } } }[];
    };
    const bad = s.proxies.find((p) => p.id === nacking);
    assert.match(bad?.types.LDS.nack?.message ?? '', /bad filter/);
  });

  it('proxy-config shows what the proxy ACKed: clusters, listeners, routes, endpoints, secrets', async () => {
    const clusters = await run(['proxy-config', 'cluster', 'reviews-1.shop']);
    assert.equal(clusters.code, 0, clusters.err);
    assert.match(clusters.out, /^SERVICE FQDN +PORT +SUBSET +DIRECTION +TYPE\n/);
    assert.match(clusters.out, /reviews\.shop\.svc\.cluster\.local +9080 +- +outbound +EDS/);

    const listeners = await run(['proxy-config', 'listener', 'reviews-1', '-n', 'shop']);
    assert.match(listeners.out, /virtualOutbound +0\.0\.0\.0 +9080 +ALL +Route: 9080/);
    assert.match(
      listeners.out,
      /virtualInbound +0\.0\.0\.0 +15006 +Default +Cluster: InboundPassthroughCluster/,
    );

    // The NACKed listeners are not what the proxy holds.
    const none = await run(['proxy-config', 'listener', 'ratings-1.shop', '-o', 'json']);
    assert.deepEqual(JSON.parse(none.out), []);

    const json = await run(['proxy-config', 'cluster', sidecar, '-o', 'json']);
    const parsed = JSON.parse(json.out) as { '@type': string; name: string }[];
    assert.ok(parsed.every((c) => c['@type'] === TypeUrl.Cluster));
    const yaml = await run(['proxy-config', 'cluster', 'reviews-1.shop', '-o', 'yaml']);
    assert.match(yaml.out, /name: outbound\|9080\|\|reviews\.shop\.svc\.cluster\.local/);

    const secrets = await run(['proxy-config', 'secret', 'reviews-1.shop']);
    assert.match(secrets.out, /^RESOURCE NAME +TYPE +SERVED BY +USED BY\n/);
    assert.match(secrets.out, /ROOTCA +CA +agent \(SDS\)/);
    assert.match(secrets.out, /default +Cert Chain +agent \(SDS\)/);
  });

  it('says clearly when a name is wrong, a type unknown, or Pilot unreachable', async () => {
    const missing = await run(['proxy-config', 'cluster', 'nobody.shop']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no proxy "nobody\.shop" is connected to any Pilot/);

    const kind = await run(['proxy-config', 'clusters', 'reviews-1.shop']);
    assert.equal(kind.code, 2);
    assert.match(
      kind.err,
      /unknown type "clusters" \(one of cluster, listener, route, endpoint, secret\)/,
    );

    const port = await freePort(); // nothing listens there
    const down = await run(['proxy-status', '--xdsAddress', `127.0.0.1:${String(port)}`], tmpdir());
    assert.equal(down.code, 1);
    assert.match(
      down.err,
      new RegExp(`Pilot at 127\\.0\\.0\\.1:${String(port)} \\(xDS\\) is unreachable`),
    );

    const gone = mkdtempSync(join(tmpdir(), 'proxy-commands-gone-'));
    mkdirSync(join(gone, '.local'));
    writeFileSync(
      join(gone, '.local', 'endpoints.json'),
      JSON.stringify({
        kubeconfig: 'k',
        pilotXds: 'x',
        pilotHttp: '127.0.0.1:1',
        mixerMetrics: 'm',
      }),
    );
    const stale = await run(['proxy-status'], gone);
    assert.equal(stale.code, 1);
    assert.match(
      stale.err,
      /Pilot at 127\.0\.0\.1:1 is unreachable: .*is `npm start` still running\?/,
    );
    rmSync(gone, { recursive: true, force: true });
  });

  it('has --help for both commands', async () => {
    for (const c of ['proxy-status', 'proxy-config']) {
      const r = await run([c, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.out, /--xdsAddress/);
      assert.match(r.out, /endpoints\.json/);
    }
  });
});

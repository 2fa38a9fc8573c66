/**
 * The mesh dashboard in a real headless Chromium (the Debian package, scripts/test-setup.sh): a
 * real Mixer (the examples' prometheus handler) is fed Mixer v1 Reports for three calls, a real
 * Pilot has RouteRules (one applied, one naming a version no pod has) and ADS clients (one
 * NACKing), and the dashboard finds both through `.local/endpoints.json` as under `npm start`.
 * The page is loaded, the graph waited for, and its nodes and edges checked against the requests
 * fed (totals, 5xx, a rate over the window); the rules and proxies tables too; nothing is loaded
 * from anywhere but the dashboard. A screenshot is saved (UPDATE_SCREENSHOT=1 writes the one the
 * README shows, docs/images/dashboard.png).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { compressReport } from '../lib/mixer/compress.ts';
import { Duration, type Value } from '../lib/mixer/value.ts';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import { launchChromium, type Chromium, type Page } from '../lib/testing/chromium.ts';
import { TypeUrl } from '../lib/xds/type-urls.ts';
import { startTestMixer, type TestMixer } from '../mixer/testing/server.ts';
import { findControlPlane } from '../ops/control-plane.ts';
import { mixerMetrics } from '../ops/dashboard/metrics-source.ts';
import { runDashboard, type RunningDashboard } from '../ops/dashboard/run.ts';
import { parseCrdObject } from '../pilot/config/parse.ts';
import { ConfigStore } from '../pilot/config/store.ts';
import { runPilot, type RunningPilot } from '../pilot/run.ts';
import { RawAdsClient } from '../pilot/testing/raw-ads-client.ts';
import { crd, host, trafficRegistry } from '../pilot/testing/traffic-fixture.ts';
import { main } from './main.ts';
import { captureIo } from './testing/capture-io.ts';

const productpage = host('productpage');
const reviews = host('reviews');
const ratings = host('ratings');

/** One call's attributes as a sidecar reports it; no source: a caller outside the mesh. */
function call(from: string | undefined, to: string, code: number, ms: number): Map<string, Value> {
  return new Map<string, Value>([
    ...(from === undefined ? [] : ([['source.service', from]] as [string, Value][])),
    ['destination.service', to],
    ['destination.labels', new Map([['version', 'v1']])],
    ['response.code', code],
    ['response.duration', new Duration(ms)],
  ]);
}

/** Each call fed: [source, destination, code, latency ms, how many] per batch. */
const batch: readonly [string | undefined, string, number, number, number][] = [
  [productpage, reviews, 200, 10, 40],
  [productpage, reviews, 503, 300, 10],
  [reviews, ratings, 200, 5, 30],
  [undefined, productpage, 200, 20, 20],
];

describe('istio-lite dashboard in headless Chromium', function () {
  this.timeout(120_000);
  let mixer: TestMixer | undefined;
  let pilot: RunningPilot | undefined;
  let dashboard: (RunningDashboard & { close(): Promise<void> }) | undefined;
  let chromium: Chromium | undefined;
  let page: Page;
  let dir: string;
  let base: string;
  const clients: RawAdsClient[] = [];

  async function feed(): Promise<void> {
    const sets = batch.flatMap(([from, to, code, ms, n]) =>
      Array.from({ length: n }, () => call(from, to, code, ms)),
    );
    for (const req of compressReport(sets)) await mixer!.mixer('Report', req);
  }

  before(async () => {
    const m = (mixer = await startTestMixer());
    const store = new ConfigStore();
    for (const o of [
      crd('RouteRule', 'reviews-canary', {
        destination: { name: 'reviews' },
        route: [
          { labels: { version: 'v1' }, weight: 90 },
          { labels: { version: 'v2' }, weight: 10 },
        ],
      }),
      crd('RouteRule', 'reviews-v9', {
        destination: { name: 'reviews' },
        precedence: 2,
        route: [{ labels: { version: 'v9' } }],
      }),
    ]) {
      const parsed = parseCrdObject('RouteRule', o, 'cluster.local');
      if (parsed) store.set(parsed.key, parsed.entry);
    }
    const p = (pilot = await runPilot({
      logger: pino({ level: 'silent' }),
      mesh: defaultMeshConfig,
      registry: trafficRegistry(),
      config: store,
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      httpHost: '127.0.0.1',
      httpPort: 0,
      debounceMs: 10,
      debounceMaxMs: 50,
      domain: 'cluster.local',
      instance: 'istio-pilot-local',
    }));
    const xds = `127.0.0.1:${String(p.xdsPort)}`;
    const sidecar = new RawAdsClient(
      xds,
      'sidecar~10.1.2.99~productpage-1.shop~shop.svc.cluster.local',
    );
    const gateway = new RawAdsClient(
      xds,
      'router~10.9.1.1~istio-ingress-1.istio-system~istio-system.svc.cluster.local',
    );
    clients.push(sidecar, gateway);
    sidecar.send({ typeUrl: TypeUrl.Cluster });
    sidecar.ack(await sidecar.next());
    gateway.send({ typeUrl: TypeUrl.Cluster });
    gateway.nack(await gateway.next(), 'cluster outbound|80||x: unknown field');

    dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
    mkdirSync(join(dir, '.local'));
    writeFileSync(
      join(dir, '.local', 'endpoints.json'),
      JSON.stringify({
        kubeconfig: join(dir, 'no-kubeconfig'),
        pilotHttp: `127.0.0.1:${String(p.httpPort)}`,
        mixerMetrics: new URL(m.metricsUrl).host,
      }),
    );
    const plane = findControlPlane({ istioNamespace: 'istio-system', cwd: dir, env: {} });
    const d = (dashboard = await runDashboard({
      port: 0,
      address: '127.0.0.1',
      intervalMs: 600_000, // the test collects by hand
      plane,
      metrics: mixerMetrics(plane),
      logger: pino({ level: 'silent' }),
    }));
    base = `http://127.0.0.1:${String(d.port)}/`;
    await feed();
    await d.collector.collect();
    await new Promise((r) => setTimeout(r, 1000));
    await feed();
    await d.collector.collect();
    const c = (chromium = await launchChromium());
    page = await c.newPage(1280, 900);
  });

  after(async () => {
    await chromium?.close();
    for (const c of clients) c.close();
    await dashboard?.close();
    await pilot?.close();
    await mixer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws the service graph the metrics describe', async () => {
    // What Mixer exports is what was fed (two batches).
    const scraped = await mixer!.scrape();
    assert.match(
      scraped,
      /request_count\{source_service="productpage\.shop\.svc\.cluster\.local",[^}]*destination_service="reviews\.shop\.svc\.cluster\.local",[^}]*response_code="503"\} 20\n/,
    );

    await page.navigate(base);
    await page.waitFor(`document.querySelector('#graph')?.dataset.ready === 'true'`);
    const nodes = await page.evaluate<string[]>(
      `[...document.querySelectorAll('#graph .node')].map((n) => n.dataset.id).sort()`,
    );
    assert.deepEqual(nodes, [productpage, ratings, reviews, 'unknown']);
    const edges = await page.evaluate<
      { s: string; d: string; requests: number; errors: number; rps: number; cls: string }[]
    >(
      `[...document.querySelectorAll('#graph .edge')].map((e) => ({ s: e.dataset.source, d: e.dataset.destination, requests: Number(e.dataset.requests), errors: Number(e.dataset.errors), rps: Number(e.dataset.rps), cls: e.getAttribute('class') }))`,
    );
    const want = new Map<string, { requests: number; errors: number }>();
    for (const [from, to, code, , n] of batch) {
      const k = `${from ?? 'unknown'} ${to}`;
      const w = want.get(k) ?? { requests: 0, errors: 0 };
      w.requests += 2 * n;
      if (code >= 500) w.errors += 2 * n;
      want.set(k, w);
    }
    assert.deepEqual(
      new Map(edges.map((e) => [`${e.s} ${e.d}`, { requests: e.requests, errors: e.errors }])),
      want,
    );
    for (const e of edges) {
      // One batch in the window of a second or a little more.
      const perBatch = (want.get(`${e.s} ${e.d}`)?.requests ?? 0) / 2;
      assert.ok(e.rps > perBatch / 3 && e.rps <= perBatch, `${e.s} → ${e.d}: ${String(e.rps)} rps`);
    }
    const bad = edges.find((e) => e.d === reviews);
    assert.match(bad?.cls ?? '', /\bbad\b/, 'a 20% 5xx edge is drawn as failing');
  });

  it("lists each service's RouteRules with whether they applied, and every proxy's sync state", async () => {
    const rules = await page.evaluate<string[]>(
      `[...document.querySelectorAll('#services tr[data-service="${reviews}"] .rule')].map((r) => r.dataset.rule + ' ' + r.querySelector('.pill').textContent)`,
    );
    assert.deepEqual(rules.sort(), [
      'shop/reviews-canary Applied',
      'shop/reviews-v9 NoMatchingPods',
    ]);
    const proxies = await page.evaluate<string[]>(
      `[...document.querySelectorAll('#proxies tbody tr')].map((r) => [...r.children].map((c) => c.textContent).join(' '))`,
    );
    assert.ok(
      proxies.includes(
        'productpage-1 shop sidecar SYNCED NOT SENT NOT SENT NOT SENT istio-pilot-local',
      ),
      proxies.join('\n'),
    );
    assert.ok(
      proxies.includes(
        'istio-ingress-1 istio-system gateway NACKED NOT SENT NOT SENT NOT SENT istio-pilot-local',
      ),
      proxies.join('\n'),
    );
    const nack = await page.evaluate<string>(`document.querySelector('#nacks').textContent`);
    assert.match(
      nack,
      /istio-ingress-1\.istio-system CDS: cluster outbound\|80\|\|x: unknown field/,
    );
  });

  it('loads nothing from anywhere else, and saves a screenshot', async () => {
    const urls = await page.evaluate<string[]>(
      `[location.href, ...performance.getEntriesByType('resource').map((e) => e.name)]`,
    );
    assert.ok(urls.length >= 4, urls.join('\n')); // the page, its CSS, its script, the state
    for (const u of urls) assert.ok(u.startsWith(base), `${u} is not the dashboard's`);
    const png = await page.screenshot(1280);
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const out =
      process.env['UPDATE_SCREENSHOT'] === '1'
        ? fileURLToPath(new URL('../docs/images/dashboard.png', import.meta.url))
        : join(dir, 'dashboard.png');
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, png);
  });

  it('has --help and refuses a bad flag value', async () => {
    const help = captureIo();
    assert.equal(await main(['dashboard', '--help'], help), 0);
    assert.match(help.out(), /--prometheus URL/);
    assert.match(help.out(), /--address IP +listen address \(loopback/);
    const bad = captureIo();
    assert.equal(await main(['dashboard', '--prometheus', 'prom:9090'], bad), 2);
    assert.match(bad.err(), /--prometheus: "prom:9090" is not an http\(s\) URL/);
  });
});

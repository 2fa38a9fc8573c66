/**
 * `istio-lite proxy-status` and `proxy-config` the way they work on a cluster: every replica
 * behind the `istio-pilot` Service (its EndpointSlices), each read through the API server's pod
 * proxy, so nothing but the API server has to be reachable.
 *
 * The API server proxies only to a pod IP that is a global unicast address (never loopback), so
 * the two Pilot replicas listen on two private addresses of a veth pair this test creates and
 * joins to nothing (reachable from this machine only, like the VM test's veth link) and their pods carry those
 * IPs. The pods have a scheduling gate, so no scheduler or simulated node touches them; the
 * Service has no selector and its EndpointSlices are written here, as the EndpointSlice controller
 * would write them. A third endpoint points at an address where nothing listens: that replica is
 * reported and the others still shown. The mesh dashboard then runs as the chart's istio-dashboard
 * ServiceAccount (its rendered RBAC), reading both Pilots and a Mixer replica (its /metrics fed by
 * real Reports) the same way.
 *
 * Needs root and iproute2 (npm test installs it: scripts/test-setup.sh).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/testing/capture-io.ts';
import { helmTemplate } from '../../lib/chart.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import { listenOn } from '../../lib/listen.ts';
import { helmPath } from '../../lib/local-cluster/cluster.ts';
import { compressReport } from '../../lib/mixer/compress.ts';
import { Duration, type Value } from '../../lib/mixer/value.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { startTestMixer, type TestMixer } from '../../mixer/testing/server.ts';
import { kubePlane } from '../../ops/control-plane.ts';
import { mixerMetrics } from '../../ops/dashboard/metrics-source.ts';
import { runDashboard } from '../../ops/dashboard/run.ts';
import type { RunningPilot } from '../../pilot/run.ts';
import { RawAdsClient } from '../../pilot/testing/raw-ads-client.ts';
import { eventually } from '../cluster/eventually.ts';
import { useLocalCluster } from '../cluster/local-cluster.ts';
import { ensurePilotCrds } from '../cluster/pilot-crds.ts';
import { startKubePilot } from '../cluster/pilot-support.ts';
import { serviceAccountKubeConfig } from '../cluster/service-account-kubeconfig.ts';

const id = randomBytes(3).toString('hex');
const link = `ilps${id}`;
const octet = 100 + ((randomBytes(1)[0] ?? 0) % 100);
const ipA = `10.78.${String(octet)}.1`;
const ipB = `10.78.${String(octet)}.2`;
const ipGone = `10.78.${String(octet)}.3`;
const ipMixer = `10.78.${String(octet)}.4`;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function canRun(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    sh('ip', ['-V']);
    return true;
  } catch {
    return false;
  }
}

describe('proxy-status and proxy-config through the API server (every istio-pilot replica)', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ namespacePrefix: 'opsps' });
  const pilots: RunningPilot[] = [];
  const clients: RawAdsClient[] = [];
  let mixer: TestMixer | undefined;
  let stopped = false;
  const answering: Promise<void>[] = [];

  /** ACKs every response (NACKs listeners when told to) until the suite ends. */
  async function answerEvery(c: RawAdsClient, nackListeners: boolean): Promise<void> {
    while (!stopped) {
      let r;
      try {
        r = await c.next(500);
      } catch {
        if (c.status) return;
        continue;
      }
      if (nackListeners && r.typeUrl === TypeUrl.Listener) {
        c.nack(r, 'listener virtualOutbound: unknown filter');
      } else c.ack(r);
    }
  }
  let forward: Server | undefined;
  const forwarded = new Set<Socket>();
  let made = false;
  const ns = () => env.namespace;

  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo(tmpdir(), {});
    const code = await main([...argv, '--kubeconfig', env.kubeconfig], io);
    return { code, out: io.out(), err: io.err() };
  }

  before(async function () {
    // Two Pilots on veth addresses need root and iproute2; npm test as root (as CI runs it,
    // installing iproute2 first) runs this suite.
    if (!canRun()) this.skip();
    sh('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`]);
    made = true;
    for (const ip of [ipA, ipB, ipGone, ipMixer])
      sh('ip', ['addr', 'add', `${ip}/32`, 'dev', link]);
    sh('ip', ['link', 'set', link, 'up']);
    sh('ip', ['link', 'set', `${link}p`, 'up']);
    await ensurePilotCrds(env.kc);

    const core = env.kc.makeApiClient(CoreV1Api);
    const discovery = env.kc.makeApiClient(DiscoveryV1Api);
    for (const [name, port] of [
      ['istio-pilot', { name: 'http-debug', port: 8080 }],
      ['istio-mixer', { name: 'http-monitoring', port: 42422 }],
    ] as const) {
      await core.createNamespacedService({
        namespace: ns(),
        body: { metadata: { name }, spec: { ports: [port] } },
      });
    }
    // A Mixer whose /metrics (on loopback) is forwarded from its pod's address.
    const m = (mixer = await startTestMixer());
    const metricsPort = Number(new URL(m.metricsUrl).port);
    const f = (forward = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: metricsPort });
      for (const sock of [client, upstream]) {
        forwarded.add(sock);
        sock.on('close', () => forwarded.delete(sock));
      }
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    }));
    const mixerPort = await listenOn(f, 0, ipMixer);
    const replicas: { pod: string; ip: string; port: number; service?: string }[] = [];
    for (const [name, ip] of [
      ['istio-pilot-a', ipA],
      ['istio-pilot-b', ipB],
    ] as const) {
      const p = await startKubePilot(env.kc, 0, { httpHost: ip, instance: name });
      pilots.push(p);
      await eventually(async () => {
        const ready = await fetch(`http://${ip}:${String(p.httpPort)}/ready`);
        assert.equal(ready.status, 200, await ready.text());
      });
      replicas.push({ pod: name, ip, port: p.httpPort });
    }
    replicas.push({ pod: 'istio-pilot-gone', ip: ipGone, port: 8080 });
    replicas.push({ pod: 'istio-mixer-a', ip: ipMixer, port: mixerPort, service: 'istio-mixer' });
    for (const r of replicas) {
      const service = r.service ?? 'istio-pilot';
      await core.createNamespacedPod({
        namespace: ns(),
        body: {
          metadata: { name: r.pod, labels: { app: service } },
          spec: {
            schedulingGates: [{ name: 'istio-lite.io/test-never-scheduled' }],
            containers: [{ name: 'discovery', image: 'istio-lite:test' }],
          },
        },
      });
      await core.patchNamespacedPodStatus({
        name: r.pod,
        namespace: ns(),
        body: [
          { op: 'add', path: '/status/podIP', value: r.ip },
          { op: 'add', path: '/status/podIPs', value: [{ ip: r.ip }] },
        ],
      });
      await discovery.createNamespacedEndpointSlice({
        namespace: ns(),
        body: {
          metadata: {
            name: r.pod,
            labels: {
              'kubernetes.io/service-name': service,
              'endpointslice.kubernetes.io/managed-by': 'istio-lite-test',
            },
          },
          addressType: 'IPv4',
          ports: [
            {
              name: service === 'istio-pilot' ? 'http-debug' : 'http-monitoring',
              port: r.port,
              protocol: 'TCP',
            },
          ],
          endpoints: [
            {
              addresses: [r.ip],
              conditions: { ready: true },
              targetRef: { kind: 'Pod', name: r.pod, namespace: ns() },
            },
          ],
        },
      });
    }

    const [a, b] = pilots;
    const ok = new RawAdsClient(
      `127.0.0.1:${String(a!.xdsPort)}`,
      `sidecar~10.9.0.1~app-1.${ns()}~${ns()}.svc.cluster.local`,
    );
    const bad = new RawAdsClient(
      `127.0.0.1:${String(b!.xdsPort)}`,
      `sidecar~10.9.0.2~app-2.${ns()}~${ns()}.svc.cluster.local`,
    );
    clients.push(ok, bad);
    // The cluster keeps changing (other suites, the controllers): each client answers every
    // push as a proxy would, app-2 refusing every listener update.
    for (const [c, nackListeners] of [
      [ok, false],
      [bad, true],
    ] as const) {
      c.send({ typeUrl: TypeUrl.Cluster });
      c.send({ typeUrl: TypeUrl.Listener });
      answering.push(answerEvery(c, nackListeners));
    }
  });

  after(async () => {
    stopped = true;
    for (const c of clients) c.close();
    await Promise.all(answering);
    for (const p of pilots) await p.close();
    await mixer?.close();
    for (const c of forwarded) c.destroy();
    const f = forward;
    if (f) {
      await new Promise<void>((resolve) => {
        f.close(() => {
          resolve();
        });
      });
    }
    if (made) sh('ip', ['link', 'del', link]);
  });

  it('lists the proxies of every replica with the replica each is on, and reports the one down', async () => {
    await eventually(async () => {
      const r = await run(['proxy-status', '-i', ns(), '-d']);
      assert.equal(r.code, 0, r.err);
      const nsRe = ns().replace(/[-]/g, '\\-');
      assert.match(
        r.out,
        new RegExp(
          `app-1\\.${nsRe} +${nsRe} +sidecar +SYNCED +SYNCED +NOT SENT +NOT SENT +istio-pilot-a`,
        ),
      );
      assert.match(
        r.out,
        new RegExp(
          `app-2\\.${nsRe} +${nsRe} +sidecar +SYNCED +NACKED +NOT SENT +NOT SENT +istio-pilot-b`,
        ),
      );
      assert.match(r.out, /app-2\.\S+ LDS NACKED .*: listener virtualOutbound: unknown filter/);
      assert.match(
        r.err,
        new RegExp(
          `warning: Pilot istio-pilot-gone: Pilot pod ${nsRe}/istio-pilot-gone \\(port 8080\\) through the API server at https://127\\.0\\.0\\.1:\\d+: HTTP 50\\d`,
        ),
      );
    });
  });

  it("reads a proxy's config from the replica it is connected to", async () => {
    const r = await run(['proxy-config', 'cluster', `app-1.${ns()}`, '-i', ns(), '-o', 'json']);
    assert.equal(r.code, 0, r.err);
    const clusters = JSON.parse(r.out) as { name: string }[];
    assert.ok(
      clusters.some((c) => c.name === 'PassthroughCluster'),
      r.out,
    );
    const l = await run(['proxy-config', 'listener', 'app-2', '-n', ns(), '-i', ns()]);
    assert.equal(l.code, 0, l.err);
    // app-2 NACKed its listeners: it holds none.
    assert.equal(l.out.trim(), 'LISTENER   ADDRESS   PORT   MATCH   DESTINATION');
  });

  it('says where it looked when the namespace has no istio-pilot', async () => {
    const r = await run(['proxy-status', '-i', 'no-such-istio-system']);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /no Pilot found: the istio-pilot Service in namespace no-such-istio-system has no endpoints \(API server https:\/\/127\.0\.0\.1:\d+\)/,
    );
  });

  it("runs the dashboard as the chart's ServiceAccount: Mixer's graph and every Pilot's proxies", async () => {
    const rbac = (
      await helmTemplate({
        helm: await helmPath(),
        namespace: ns(),
        set: { 'dashboard.enabled': 'true' },
        showOnly: ['templates/dashboard.yaml'],
      })
    ).filter((o) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(o['kind'] as string));
    await applyObjects(env.kc, rbac, 'proxy-status-test');
    const sa = await serviceAccountKubeConfig(env.kc, ns(), 'istio-dashboard');
    const plane = kubePlane(sa, ns(), 'the istio-dashboard ServiceAccount');
    const dashboard = await runDashboard({
      port: 0,
      address: '127.0.0.1',
      intervalMs: 600_000,
      plane,
      metrics: mixerMetrics(plane),
      logger: pino({ level: 'silent' }),
    });
    try {
      const reviews = `reviews.${ns()}.svc.cluster.local`;
      const calls = Array.from(
        { length: 12 },
        (_, i) =>
          new Map<string, Value>([
            ['source.service', `productpage.${ns()}.svc.cluster.local`],
            ['destination.service', reviews],
            ['response.code', i < 3 ? 500 : 200],
            ['response.duration', new Duration(15)],
          ]),
      );
      for (const req of compressReport(calls)) await mixer!.mixer('Report', req);
      await dashboard.collector.collect();
      for (const req of compressReport(calls)) await mixer!.mixer('Report', req);
      const state = await dashboard.collector.collect();
      const edge = state.graph.edges.find((e) => e.destination === reviews);
      assert.deepEqual([edge?.requests, edge?.errors], [24, 6], JSON.stringify(state.graph));
      assert.ok((edge?.rps ?? 0) > 0);
      await eventually(async () => {
        const now = await dashboard.collector.collect();
        assert.deepEqual(
          now.proxies.map((p) => `${p.name} ${p.pilot} ${p.types.LDS.state}`).sort(),
          ['app-1 istio-pilot-a SYNCED', 'app-2 istio-pilot-b NACKED'],
        );
      });
      assert.ok(
        state.problems.some((p) => p.startsWith('Pilot istio-pilot-gone: ')),
        state.problems.join('\n'),
      );
      // The page and its state over HTTP, as a browser gets them.
      const page = await fetch(`http://127.0.0.1:${String(dashboard.port)}/`);
      assert.match(await page.text(), /<svg id="graph"/);
    } finally {
      await dashboard.close();
    }
  });
});

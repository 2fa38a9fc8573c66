/**
 * bench:scale, the mesh's own load test on the simulated cluster (lib/local-cluster): N kwok nodes,
 * Services in namespaces labelled for injection, one Deployment per Service, the webhook, Pilot,
 * Mixer and the CA as `istio-lite` processes, and Envoy-like ADS clients. Step by step (pods, e.g.
 * 1,000 then 10,000: each Deployment scaled to pods/services replicas) it measures:
 * - pods admitted per second, and the webhook's admission latency as the API server measures it
 *   (apiserver_admission_webhook_admission_duration_seconds: p50/p99, share within 5 ms), beside
 *   a bare webhook's registered for the same pods (./bare-webhook.ts: allows them unchanged), the
 *   least a webhook gets from the same API server, bursts and machine;
 * - the time until every pod is Running and injected, and until every client holds the full mesh
 *   (every Service's cluster with all its endpoints);
 * - one endpoint change reaching every client while pods churn (bench/scale/changes.ts);
 * - on the first step, the time until every istio.<sa> Secret exists;
 * - each process's memory and CPU seconds (ours beside the API server's own).
 * The last column is the growth from the first step to the last: linear when it matches the
 * growth in pods.
 *
 *   npm run bench:scale [-- --nodes 50 --services 1000 --namespaces 20 --pods 1000,10000
 *                          --clients 100 --changes 20 --churn 5 --qps 500 --sources]
 *
 * The components run as the chart runs them: the compiled dist/ (compiled first, as the images'
 * build stage does), Pilot with the chart's NODE_OPTIONS; --sources runs the TypeScript sources.
 *
 * The binaries come from .cache/bin (npm test builds them); the bench never builds. Everything it
 * starts is stopped on exit, on error and on Ctrl-C. Run it on a quiet machine.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { chartDir } from '../../lib/chart.ts';
import { isObject } from '../../lib/json.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { down, up, type LocalCluster } from '../../lib/local-cluster/cluster.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';
import { compileDist } from '../compile-dist.ts';
import { cleanup, installExitHandlers, leftovers, onCleanup } from '../cleanup.ts';
import { stopChild } from '../pinned-process.ts';
import { istioLiteEntry } from '../pilot/servers.ts';
import { measureChanges } from './changes.ts';
import { BARE_WEBHOOK_NAME, startBareWebhook } from './bare-webhook-process.ts';
import { BenchClients } from './clients.ts';
import {
  registerBenchWebhook,
  startComponent,
  stopComponent,
  waitReady,
  type Component,
} from './control-plane.ts';
import {
  count,
  delta,
  injectorHistogram,
  quantile,
  read,
  shareWithin,
  webhookHistograms,
  type ProcessReading,
} from './metrics.ts';
import { percentile, report, type StepFigures } from './report.ts';
import { PodTracker, SliceTracker } from './trackers.ts';
import {
  clusterOf,
  createDeployments,
  createNamespaces,
  createServiceAccounts,
  createServices,
  scaleAll,
  type MeshShape,
} from './workloads.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '50' },
    services: { type: 'string', default: '1000' },
    namespaces: { type: 'string', default: '20' },
    pods: { type: 'string', default: '1000,10000' },
    clients: { type: 'string', default: '100' },
    changes: { type: 'string', default: '20' },
    churn: { type: 'string', default: '5' },
    qps: { type: 'string', default: '500' },
    sources: { type: 'boolean', default: false },
  },
});

function positive(flag: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${flag}: an integer >= ${String(min)}, not "${v}"`);
  return n;
}
const shape: MeshShape = {
  services: positive('services', values.services),
  namespaces: positive('namespaces', values.namespaces),
};
const nodes = positive('nodes', values.nodes);
const clientCount = positive('clients', values.clients);
const changes = positive('changes', values.changes, 0);
const churn = positive('churn', values.churn, 0);
const qps = positive('qps', values.qps);
const steps = values.pods.split(',').map((p) => {
  const pods = positive('pods', p.trim());
  if (pods % shape.services !== 0) {
    throw new Error(`--pods: ${p} is not a multiple of --services ${String(shape.services)}`);
  }
  return pods;
});

const log = (line: string): void => {
  process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
installExitHandlers(log);

async function waitUntil(
  what: string,
  f: () => boolean | Promise<boolean>,
  ms: number,
): Promise<number> {
  const deadline = Date.now() + ms;
  let last = Date.now();
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${String(ms / 1000)} s`);
    if (Date.now() - last > 30_000) {
      log(`  … ${what}`);
      last = Date.now();
    }
    await sleep(100);
  }
  return Date.now();
}

/** The pids whose CPU and memory the report shows. */
function pidsOf(c: LocalCluster, ours: readonly Component[]): Map<string, number> {
  const m = new Map<string, number>(ours.map((x) => [x.name, x.pid]));
  m.set('kube-apiserver', c.apiServer.pid);
  m.set('etcd', c.etcd.pid);
  for (const x of c.components) m.set(x.name, x.pid);
  m.set('bench (clients)', process.pid);
  return m;
}

function readAll(pids: ReadonlyMap<string, number>): Map<string, ProcessReading> {
  const out = new Map<string, ProcessReading>();
  for (const [name, pid] of pids) {
    const r = read(pid);
    if (r !== undefined) out.set(name, r);
  }
  return out;
}

async function istioSecrets(kc: KubeConfig): Promise<number> {
  const list = await kc
    .makeApiClient(CoreV1Api)
    .listSecretForAllNamespaces({ fieldSelector: 'type=istio.io/key-and-cert' });
  return list.items.filter((s) => /^istio\.svc-\d+$/.test(s.metadata?.name ?? '')).length;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'istio-lite-bench-scale-'));
  leftovers.dirs.add(dir);
  onCleanup(() => {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  });
  log(
    `load ${loadavg()}; ${String(nodes)} nodes, ${String(shape.services)} Services in ${String(shape.namespaces)} namespaces, steps ${steps.join(', ')} pods, ${String(clientCount)} clients`,
  );
  const entry = istioLiteEntry(values.sources ? 'sources' : 'dist');
  if (!values.sources) compileDist(log);
  const t0 = Date.now();
  const clusterDir = join(dir, 'cluster');
  onCleanup(async () => {
    await down(clusterDir);
  });
  const cluster = await up(clusterDir, { nodes, componentQps: qps, kwokParallelism: 16, log });
  log(`cluster up in ${String(Date.now() - t0)} ms`);
  const kc = loadKubeConfig(cluster.kubeconfig);
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: 'istio-system' } } });
  const crds = readdirSync(join(chartDir, 'crds')).filter((f) => f.endsWith('.yaml'));
  for (const f of crds) {
    const text = readFileSync(join(chartDir, 'crds', f), 'utf8');
    await applyObjects(
      kc,
      parseYamlDocuments(text, f)
        .map((d) => d.value)
        .filter(isObject),
    );
  }
  const components: Component[] = [];
  for (const name of ['ca', 'webhook', 'pilot', 'mixer'] as const) {
    const c = await startComponent(name, cluster.kubeconfig, dir, entry);
    components.push(c);
    leftovers.pids.add(c.pid);
    onCleanup(() => stopComponent(c));
    await waitReady(c, 120_000);
  }
  const webhook = components.find((c) => c.name === 'webhook');
  const pilot = components.find((c) => c.name === 'pilot');
  if (webhook === undefined || pilot === undefined) throw new Error('no webhook or Pilot');
  await registerBenchWebhook(kc, webhook.port);
  const bare = await startBareWebhook(kc, dir);
  leftovers.pids.add(bare.pid);
  onCleanup(() => stopChild(bare.proc));
  log(`control plane ready (logs in ${dir})`);

  const pods = new PodTracker(kc);
  const slices = new SliceTracker(kc);
  await Promise.all([pods.start(), slices.start()]);
  onCleanup(() => Promise.all([pods.stop(), slices.stop()]).then(() => undefined));
  const clients = new BenchClients(`127.0.0.1:${String(pilot.port)}`, clientCount);
  onCleanup(() => {
    clients.close();
    return Promise.resolve();
  });
  clients.start();

  const pids = pidsOf(cluster, components);
  pids.set('bare webhook', bare.pid);
  const expected = Array.from({ length: shape.services }, (_, i) => clusterOf(i, shape));
  const figures: StepFigures[] = [];
  for (const [k, target] of steps.entries()) {
    const replicas = target / shape.services;
    log(
      `step ${String(k + 1)}: ${String(target)} pods (${String(replicas)} a Deployment); load ${loadavg()}`,
    );
    const before = readAll(pids);
    const hist0 = await webhookHistograms(kc, BARE_WEBHOOK_NAME);
    const injectorUrl = webhook.readyUrl.replace(/\/ready$/, '/metrics');
    const own0 = await injectorHistogram(injectorUrl);
    const admitted0 = pods.admitted.length;
    const start = Date.now();
    let secretsS: number | undefined;
    if (k === 0) {
      await createNamespaces(kc, shape);
      const saAt = Date.now();
      await createServiceAccounts(kc, shape);
      const secrets = waitUntil(
        'istio.<sa> Secrets',
        async () => (await istioSecrets(kc)) >= shape.services,
        1_800_000,
      ).then((at) => (at - saAt) / 1000);
      await createServices(kc, shape);
      await createDeployments(kc, shape, replicas);
      secretsS = await secrets;
    } else {
      await scaleAll(kc, shape, replicas);
    }
    const budget = 600_000 + target * 200;
    const runningAt = await waitUntil(
      `${String(target)} pods Running and injected`,
      () => {
        const c = pods.counts();
        return c.running === target && c.all === target;
      },
      budget,
    );
    const meshAt = await waitUntil(
      'every client holds the mesh',
      () => clients.holding(expected, replicas) === clientCount,
      budget,
    );
    const admitted = pods.admitted.slice(admitted0);
    const span = ((admitted[admitted.length - 1] ?? start) - (admitted[0] ?? start)) / 1000;
    const hists = await webhookHistograms(kc, BARE_WEBHOOK_NAME);
    const hist = delta(hists.injector, hist0.injector);
    const bareHist = delta(hists.bare, hist0.bare);
    const own = delta(await injectorHistogram(injectorUrl), own0);
    log(
      `  ${String(target)} pods running after ${String((runningAt - start) / 1000)} s; clients hold the mesh after ${String((meshAt - start) / 1000)} s`,
    );
    const ch = await measureChanges(
      { kc, shape, replicas, pods, slices, clients },
      changes,
      churn,
      log,
    );
    const end = readAll(pids);
    const cpu = new Map<string, number>();
    for (const [name, r] of end) cpu.set(name, r.cpu - (before.get(name)?.cpu ?? 0));
    figures.push({
      pods: target,
      admittedPerSecond: span > 0 ? admitted.length / span : NaN,
      webhookP50: quantile(hist, 0.5),
      webhookP99: quantile(hist, 0.99),
      webhookWithin5ms: shareWithin(hist, 0.005),
      webhookCalls: count(hist),
      bareP50: quantile(bareHist, 0.5),
      bareP99: quantile(bareHist, 0.99),
      bareWithin5ms: shareWithin(bareHist, 0.005),
      injectorP50: quantile(own, 0.5),
      injectorP99: quantile(own, 0.99),
      runningS: (runningAt - start) / 1000,
      meshS: (meshAt - start) / 1000,
      changeP50: percentile(ch.sliceToAll, 50),
      changeP99: percentile(ch.sliceToAll, 99),
      requestP50: percentile(ch.requestToAll, 50),
      requestP99: percentile(ch.requestToAll, 99),
      changes: ch.sliceToAll.length,
      churnRequests: ch.churnRequests,
      secretsS,
      cpu,
      end,
    });
    if (clients.broken() > 0) log(`  ${String(clients.broken())} client streams ended`);
    // The pods of the probes' and churn's last changes are gone before the next step counts.
    await waitUntil("back to the step's pods", () => pods.counts().all === target, 300_000);
  }
  process.stdout.write(
    `\nbench:scale: ${String(nodes)} simulated nodes, ${String(shape.services)} Services in ${String(shape.namespaces)} namespaces, ${String(clientCount)} ADS clients; load at the end ${loadavg()}\n\n`,
  );
  process.stdout.write(report(figures, { pilotMb: 500 }));
}

try {
  await main();
} finally {
  await cleanup(log);
}

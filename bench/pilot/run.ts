/**
 * bench/pilot: Pilot (`istio-lite pilot`, its own process) reading a real kube-apiserver with
 * 1,000 Services x 10 endpoints (EndpointSlices) in ten namespaces, serving 100 ADS clients that
 * subscribe and ACK like Envoy (CDS, EDS, LDS, RDS); with `--peer istiod`, Istio's istiod
 * (pilot-discovery at the pinned commit) on the same API server, the same load and the same
 * clients, in the same run, and the ratios istio-lite/istiod. For each server (measure.ts): ready
 * after start, resident memory idle / serving / peak, the time and CPU seconds until every client
 * holds the full config, CPU and memory in steady state, and after one EndpointSlice change the
 * time until each client holds it (p50/p99; the 100 ms debounce both use included) and the CPU
 * seconds of the changes. No-op baselines of the machine are printed with the figures.
 *
 *   npm run bench:pilot [-- --services 1000 --endpoints 10 --clients 100 --rounds 5]
 *                       [--peer istiod] [--runs N] [--steady-ms 3000] [--sources]
 *                       [--pilot-node-flags="--max-old-space-size=256"] [--cpu-prof DIR]
 *
 * istio-lite runs as the chart runs it: the compiled dist/ (built first, as the image's build
 * stage) with the chart's NODE_OPTIONS for Pilot; `--sources` runs the TypeScript sources.
 *
 * Goals (issue 19), with the peer: every row at or below istiod's (change p99, CPU of the
 * changes, idle and peak RSS), ready <= 2 s, and the first full push <= 0.5x istiod's.
 * kube-apiserver and etcd come from .cache/bin (scripts/build-binaries.sh); pilot-discovery is
 * built through that script when missing (about 20 minutes and 3 GB, once).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import {
  cacheDir,
  ensureBinary,
  findBinary,
  missingBinaryError,
  wantedVersion,
} from '../../lib/local-cluster/binaries.ts';
import { compileDist } from '../compile-dist.ts';
import { cleanup, installExitHandlers, interrupted, leftovers, onCleanup } from '../cleanup.ts';
import { BenchCluster } from './cluster.ts';
import { measureSide, pct, type SideFigures } from './measure.ts';
import { memory } from './proc-stats.ts';
import { report } from './report.ts';
import {
  chartPilotEnv,
  describeEnv,
  istioLiteEntry,
  istiodSpec,
  istioLiteSpec,
  type ServerSpec,
} from './servers.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '10' },
    clients: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    runs: { type: 'string', default: '1' },
    'steady-ms': { type: 'string', default: '3000' },
    peer: { type: 'string' },
    sources: { type: 'boolean', default: false },
    'pilot-node-flags': { type: 'string', default: '' },
    'cpu-prof': { type: 'string' },
  },
});

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: a positive integer, not "${v}"`);
  return n;
}

const mesh = {
  services: positive('services', values.services),
  endpoints: positive('endpoints', values.endpoints),
};
const clients = positive('clients', values.clients);
const rounds = positive('rounds', values.rounds);
const runs = positive('runs', values.runs);
const steadyMs = positive('steady-ms', values['steady-ms']);
if (values.peer !== undefined && values.peer !== 'istiod') {
  throw new Error(`--peer: istiod is the one peer, not "${values.peer}"`);
}
const from = values.sources ? 'sources' : 'dist';
/** Pilot's process runs with the chart's settings (its young generation, malloc's arenas). */
const chartEnv = chartPilotEnv();
const nodeFlags = [
  ...values['pilot-node-flags'].split(' ').filter((f) => f !== ''),
  ...(values['cpu-prof'] === undefined
    ? []
    : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`]),
];

const log = (line: string): void => {
  process.stderr.write(`[bench:pilot] ${line}\n`);
};
const loadavg = (): string =>
  readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** pilot-discovery and the Istio CRDs of its module, built through the script when missing. */
async function istiod(): Promise<{ binary: string; crds: string }> {
  if (findBinary('pilot-discovery') === undefined) {
    log('pilot-discovery (istiod) is not built yet: building it first (once; about 20 minutes)');
  }
  const binary = await ensureBinary('pilot-discovery');
  const crds =
    process.env['ISTIO_CRDS'] ??
    join(cacheDir(), `istio-crds-${wantedVersion('pilot-discovery')}.yaml`);
  if (!existsSync(crds)) {
    throw new IstioLiteError(
      ErrorCode.External,
      `${crds} is missing: run \`bash scripts/build-binaries.sh .cache/bin pilot-discovery\` (it copies Istio's CRDs beside the binary), or set ISTIO_CRDS`,
    );
  }
  return { binary, crds };
}

/** An empty Node process: start to exit (ms, median of 5) and its resident memory. */
async function nodeBaseline(): Promise<{ startMs: number; rss: number }> {
  const times: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t = Date.now();
    await new Promise((r) => spawn(process.execPath, ['-e', '0']).once('exit', r));
    times.push(Date.now() - t);
  }
  const p = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1000)']);
  await new Promise((r) => setTimeout(r, 500));
  const rss = p.pid === undefined ? NaN : memory(p.pid).rss;
  p.kill();
  return {
    startMs: pct(
      times.sort((a, b) => a - b),
      50,
    ),
    rss,
  };
}

installExitHandlers(log);
const cluster = new BenchCluster();
leftovers.dirs.add(cluster.dir);
try {
  const load0 = loadavg();
  if (from === 'dist') {
    compileDist(log); // The image's build stage: the bench measures what the image runs.
  }
  const node = await nodeBaseline();
  const peer = values.peer === undefined ? undefined : await istiod();
  for (const name of ['etcd', 'kube-apiserver'] as const) {
    if (findBinary(name) === undefined) throw missingBinaryError(name, process.env);
  }
  log(`starting kube-apiserver and etcd (load ${load0})`);
  onCleanup(() => cluster.stop());
  await cluster.start();
  for (const pid of cluster.pids) leftovers.pids.add(pid);
  const crds = await cluster.installCrds(peer?.crds);
  log(
    `${String(crds)} CRDs installed; writing ${String(mesh.services)} Services x ${String(mesh.endpoints)} endpoints`,
  );
  const f0 = Date.now();
  await cluster.fill(mesh);
  log(`filled in ${String(Date.now() - f0)} ms`);
  const watchFloor = await cluster.watchLatency(20);
  const apiServerIdle =
    cluster.apiServerPid === undefined ? undefined : memory(cluster.apiServerPid);

  const specs: ServerSpec[] = [
    istioLiteSpec(istioLiteEntry(from), chartEnv, nodeFlags),
    ...(peer ? [istiodSpec(peer.binary)] : []),
  ];
  const results = new Map<string, SideFigures[]>();
  let version = 1;
  for (let run = 0; run < runs; run++) {
    for (const spec of specs) {
      log(`run ${String(run + 1)}/${String(runs)}: ${spec.label} (load ${loadavg()})`);
      const f = await measureSide(spec, cluster, {
        mesh,
        clients,
        rounds,
        firstVersion: version,
        steadyMs,
        dir: cluster.dir,
        log,
      });
      version += rounds;
      results.set(spec.label, [...(results.get(spec.label) ?? []), f]);
    }
  }
  const out = report({
    mesh,
    clients,
    rounds,
    runs,
    pilot: `${from === 'dist' ? 'compiled dist/ (the image)' : 'TypeScript sources'}, ${describeEnv(chartEnv)} (the chart's)${nodeFlags.length > 0 ? `, node flags ${nodeFlags.join(' ')}` : ''}`,
    results,
    baselines: {
      node,
      watchFloor,
      apiServerIdle,
      load: `${load0} → ${loadavg()}`,
    },
  });
  process.stdout.write(`${out.join('\n')}\n`);
} catch (e) {
  if (interrupted.signal === undefined) {
    const why = e instanceof IstioLiteError ? e.message : e instanceof Error ? e.stack : undefined;
    log(`failed: ${why ?? String(e)}`);
    process.exitCode = 1;
  }
} finally {
  await cleanup(log);
}
if (interrupted.signal === undefined) process.exit();

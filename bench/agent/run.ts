/**
 * bench/agent: Envoy's ext_authz checks per second and p99 through the agent with a warm check
 * cache, versus the same checks sent straight to Mixer's ext_authz endpoint, in the same run; and
 * the agent's memory idle and under load, next to a bare Node process in the same run.
 *
 * The agent runs as `istio-lite agent sidecar`, no Envoy, certificates from files; the real Mixer
 * runs in its own process with the mixer/examples rules. Servers (agent, Mixer) on core 1, the load
 * generator on core 0, when taskset exists (the capacity section's agent asks a second Mixer on
 * core 0, so its core is its own). Variants: the TypeScript sources (type stripping, as
 * `npm run istio-lite`), the compiled dist/ the images run (compiled first, as their build stage
 * does), and the proxy image's NODE_OPTIONS; the last also as the first pod on its node.
 *
 * The gateway's Mixer path next to the sidecar's: the proxy image as `agent sidecar` and as
 * `agent router` side by side, loaded in turn (ROUNDS times each, the median kept) with the checks
 * and access logs each gets from its Envoy (a sidecar's inbound ones; the ingress gateway's, where
 * the gateway is the source and the client the origin). Target: the gateway's agent spends no more
 * CPU per check and per log entry than the sidecar's (from /proc; throughput is printed too).
 *
 * Tracing at 1% next to none: the proxy image as a sidecar with a Zipkin collector (an in-process
 * receiver; `--traceSampling 1`) and without, loaded in turn (ROUNDS times each) with the checks a
 * traced Envoy sends (B3 headers on every call, 1 in 100 sampled). Target: tracing at 1% costs
 * nothing measurable on the check path (CPU per check within the run-to-run spread, 5%).
 *
 * Memory is read two ways: the process (/proc: RSS with its anonymous and file-backed parts, and
 * USS, the pages no other process shares), and, when this machine lets the bench create a memory
 * cgroup, the way the kubelet reads a container (working set = usage - inactive file pages, what
 * `kubectl top` shows and limits are held against). Target: <= 40 MB idle.
 *
 * Capacity on one core (./capacity.ts): the agent's ext_authz answers from its cache against a
 * no-op grpc-js ext_authz server, the raw HTTP/2 load client as the load; each one's most checks/s, CPU
 * per check and memory under load, and the agent's latency curve at 25/50/75% of its maximum.
 * Targets: >= 3x the no-op server, p99 <= 1 ms at half its maximum. --capacityOnly runs just that
 * (after compiling dist/).
 *
 *   npm run bench:agent [-- --seconds N --concurrency C --rounds R --capacityConcurrency C
 *                          --capacityOnly --cpu-prof DIR]
 *
 * --cpu-prof DIR writes a V8 CPU profile of each capacity agent into DIR.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startZipkinReceiver } from '../../lib/testing/zipkin-receiver.ts';
import {
  firstLine,
  hasTaskset,
  idleClass,
  pinnedNode,
  pinThisProcess,
  stopChild,
  type PinnedOptions,
} from '../pinned-process.ts';
import { authzCapacity, capacityLines, type CapacityOptions } from './capacity.ts';
import { proxyNodeFlags, startAgent, type Variant } from './agent-process.ts';
import { createCgroup, type Cgroup } from './cgroup.ts';
import { memRow, memory, type Memory } from './memory.ts';
import { medianCpu, pairedLine, runWithCpu, type PairRun } from './paired-runs.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    capacityConcurrency: { type: 'string', default: '64' },
    capacityOnly: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  },
});

// This runner waits on the load's core (0), not the agent's.
pinThisProcess(0);

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const repo = here('../..');
const children: ChildProcess[] = [];
const cgroups: Cgroup[] = [];

function node(core: number, args: readonly string[], o: PinnedOptions = {}): ChildProcess {
  const p = pinnedNode(core, args, { ...o, env: { LOG_LEVEL: 'warn', ...o.env } });
  children.push(p);
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Workload = 'sidecar' | 'sidecar-traced' | 'gateway' | 'als-sidecar' | 'als-gateway';

interface LoadResult {
  readonly checks: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly denied: number;
}

async function load(
  target: string,
  sample?: { pid: number; cgroup: Cgroup | undefined },
  workload: Workload = 'sidecar',
): Promise<{ result: LoadResult; peak: Memory | undefined }> {
  const p = node(0, [here('./load.ts'), target, values.seconds, values.concurrency, workload]);
  let peak: Memory | undefined;
  const timer =
    sample === undefined
      ? undefined
      : setInterval(() => {
          const m = memory(sample.pid, sample.cgroup);
          if (!peak || m.rssMb > peak.rssMb) peak = m;
        }, 100);
  const line = await firstLine(p);
  clearInterval(timer);
  await once(p, 'exit');
  return { result: JSON.parse(line) as LoadResult, peak };
}

function metric(text: string, re: RegExp): number {
  return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
}

const dist = join(repo, 'dist/cli/main.js');
/** The proxy image's Node flags, as Dockerfile.proxy sets them (`ENV NODE_OPTIONS=...`). */
const proxyFlags = proxyNodeFlags(readFileSync(join(repo, 'Dockerfile.proxy'), 'utf8'));
const variants: Variant[] = [
  { name: 'sources (type stripping)', entry: join(repo, 'cli/main.ts'), load: false },
  { name: 'dist/ (the istio-lite image)', entry: dist, load: false },
  {
    name: `dist/, ${proxyFlags.join(' ')} (proxy image)`,
    entry: dist,
    nodeFlags: proxyFlags,
    load: true,
  },
  {
    name: 'proxy image, first pod on its node',
    entry: dist,
    nodeFlags: proxyFlags,
    firstOnNode: true,
    load: false,
  },
];

interface Measured {
  readonly variant: Variant;
  readonly idle: Memory;
  readonly loaded?: { readonly result: LoadResult; readonly peak: Memory | undefined };
  readonly fromCache: number;
  readonly fromMixer: number;
}

const row = (name: string, r: LoadResult) =>
  `${name.padEnd(48)} ${r.perSecond.toFixed(0).padStart(7)}/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`;

/** Ends the run after the capacity section (--capacityOnly), through the cleanup below. */
const capacityOnlyDone = new Error('capacity only');

mkdirSync(join(repo, '.cache'), { recursive: true });
// On the project's disk, not a tmpfs: the first-on-node copy of Node is written with O_DIRECT.
const root = mkdtempSync(join(repo, '.cache', 'bench-agent-'));
try {
  // The images' build stage: the bench measures what they run.
  execFileSync(
    process.execPath,
    [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: repo,
      stdio: 'inherit',
    },
  );

  // A bare Node process: the floor every Node agent pays.
  const bareCgroup = createCgroup(`bench-agent-${process.pid}-bare`);
  if (bareCgroup) cgroups.push(bareCgroup);
  const bare = node(1, ['-e', 'setInterval(() => {}, 1000); console.log("up")'], {
    ...(bareCgroup ? { wrap: bareCgroup.wrap } : {}),
  });
  await firstLine(bare);
  await sleep(2000);
  const bareMem = memory(bare.pid ?? 0, bareCgroup);
  bare.kill();

  const mixerProc = node(1, [here('./mixer-child.ts')]);
  const { address: mixer } = JSON.parse(await firstLine(mixerProc)) as { address: string };
  // Warm Mixer up (JIT, connections) so the first agent run does not pay for it.
  await load(mixer);

  // The capacity runs' agent asks a Mixer on the load's core: in a mesh Mixer does not share the
  // sidecar's core, and sharing it put Mixer's collector pauses into the agent's latency curve.
  // In the idle class there: its workers' slices of 2-5 ms held the load generator's sends and
  // reads back (send gaps over 0.7 ms: 137 ms in 8 s at 40,000 checks/s, 54 ms idle-class).
  const sideMixer = node(0, [here('./mixer-child.ts')], idleClass ? { wrap: idleClass } : {});
  const sideMixerAddress = (JSON.parse(await firstLine(sideMixer)) as { address: string }).address;
  await load(sideMixerAddress);
  const capacityOptions: CapacityOptions = {
    root,
    seconds: Number(values.seconds),
    concurrency: Number(values.capacityConcurrency),
    rounds: Number(values.rounds),
    nodeFlags: proxyFlags,
    node: (args) => node(1, args),
    startAgent: async (dir) => {
      const prof = values['cpu-prof'];
      const profile = prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`];
      const v: Variant = {
        name: '',
        entry: dist,
        nodeFlags: [...proxyFlags, ...profile],
        load: true,
      };
      const a = await startAgent(node, v, dir, sideMixerAddress, undefined);
      return { proc: a.proc, socket: join(dir, 'MIXER') };
    },
    mixer: { address: mixer, pid: mixerProc.pid ?? 0 },
    loadCore: 0,
  };
  const capacity = await authzCapacity(capacityOptions)
    .then((r) => capacityLines(r, capacityOptions))
    .finally(() => stopChild(sideMixer));
  if (values.capacityOnly) {
    process.stdout.write(`${capacity.join('\n')}\n`);
    throw capacityOnlyDone;
  }

  const measured: Measured[] = [];
  for (const [i, v] of variants.entries()) {
    const dir = join(root, String(i));
    mkdirSync(dir);
    const cgroup = createCgroup(`bench-agent-${process.pid}-${i}`);
    if (cgroup) cgroups.push(cgroup);
    const agent = await startAgent(node, v, dir, mixer, cgroup);
    const pid = agent.proc.pid ?? 0;
    await sleep(3000);
    const idle = memory(pid, cgroup);
    const loaded = v.load ? await load(`unix:${join(dir, 'MIXER')}`, { pid, cgroup }) : undefined;
    const metrics = await (await fetch(`http://127.0.0.1:${agent.statusPort}/metrics`)).text();
    await stopChild(agent.proc);
    measured.push({
      variant: v,
      idle,
      ...(loaded ? { loaded } : {}),
      fromCache: metric(
        metrics,
        /^istio_agent_mixer_checks_total\{source="cache",code="\d+"\} (\d+)$/gm,
      ),
      fromMixer: metric(
        metrics,
        /^istio_agent_mixer_checks_total\{source="mixer",code="\d+"\} (\d+)$/gm,
      ),
    });
  }
  const straight = await load(mixer);

  // The gateway's Mixer path next to the sidecar's: both running, loaded in turn.
  const image: Variant = { name: '', entry: dist, nodeFlags: proxyFlags, load: true };
  const pair = {
    sidecar: await startAgent(node, image, join(root, 'pair-sidecar'), mixer, undefined),
    gateway: await startAgent(
      node,
      { ...image, mode: 'router' },
      join(root, 'pair-gateway'),
      mixer,
      undefined,
    ),
  };
  await sleep(2000);
  const gatewayIdle = memory(pair.gateway.proc.pid ?? 0);
  const runs = new Map<Workload, PairRun[]>();
  const agentOf = (w: Workload) => (w.endsWith('gateway') ? pair.gateway : pair.sidecar);
  const socket = (w: Workload) =>
    `unix:${join(root, w.endsWith('gateway') ? 'pair-gateway' : 'pair-sidecar', 'MIXER')}`;
  for (let i = 0; i < Number(values.rounds); i++) {
    for (const w of ['sidecar', 'gateway', 'als-sidecar', 'als-gateway'] as const) {
      const run = await runWithCpu(agentOf(w).proc.pid, Number(values.seconds), () =>
        load(socket(w), undefined, w).then((l) => l.result),
      );
      runs.set(w, [...(runs.get(w) ?? []), run]);
    }
  }
  for (const a of Object.values(pair)) await stopChild(a.proc);

  // Tracing at 1% next to none: both running, loaded in turn with a traced Envoy's checks.
  const zipkin = await startZipkinReceiver();
  const traced = {
    off: await startAgent(node, image, join(root, 'trace-off'), mixer, undefined),
    on: await startAgent(
      node,
      { ...image, zipkin: zipkin.address },
      join(root, 'trace-on'),
      mixer,
      undefined,
    ),
  };
  await sleep(2000);
  const tracedIdle = { off: memory(traced.off.proc.pid ?? 0), on: memory(traced.on.proc.pid ?? 0) };
  const traceRuns: Record<'off' | 'on', PairRun[]> = { off: [], on: [] };
  for (let i = 0; i < Number(values.rounds); i++) {
    for (const side of ['off', 'on'] as const) {
      const target = `unix:${join(root, `trace-${side}`, 'MIXER')}`;
      const run = await runWithCpu(traced[side].proc.pid, Number(values.seconds), () =>
        load(target, undefined, 'sidecar-traced').then((l) => l.result),
      );
      traceRuns[side].push(run);
    }
  }
  for (const a of Object.values(traced)) await stopChild(a.proc);
  const spansSent = zipkin.spans.length;
  await zipkin.close();
  mixerProc.kill('SIGTERM');
  const cpu = (w: Workload) => medianCpu(runs.get(w) ?? []);
  const pairLine = (name: string, unit: 'check' | 'entry', w: Workload): string =>
    pairedLine(name, unit, runs.get(w) ?? []);
  /** Gateway CPU per unit over the sidecar's: the cost ratio (1.00 = the same). */
  const costRatio = (side: Workload, gw: Workload) => cpu(gw) / cpu(side);
  const worst = Math.max(costRatio('sidecar', 'gateway'), costRatio('als-sidecar', 'als-gateway'));

  const traceCpu = (side: 'off' | 'on') => medianCpu(traceRuns[side]);
  const traceLine = (side: 'off' | 'on', name: string): string =>
    pairedLine(name, 'check', traceRuns[side]);
  const traceRatio = traceCpu('on') / traceCpu('off');

  const loadedVariant = measured.find((m) => m.loaded !== undefined);
  const bestIdle = (pick: (m: Memory) => number | undefined) =>
    Math.min(...measured.map((m) => pick(m.idle) ?? Infinity));
  const workingSet = bestIdle((m) => m.cgroup?.workingSetMb);
  const rss = bestIdle((m) => m.rssMb);
  const lines = [
    `bench/agent: ${values.seconds} s per run, ${values.concurrency} in flight, 60 distinct ext_authz requests cycled${hasTaskset ? '; agent and Mixer on core 1, load on core 0' : ''}, Node ${process.version}`,
    '',
    'ext_authz checks',
    ...measured.flatMap((m) =>
      m.loaded
        ? [
            row(`via the agent, ${m.variant.name}`, m.loaded.result),
            `${''.padEnd(48)} ${((100 * m.fromCache) / Math.max(1, m.fromCache + m.fromMixer)).toFixed(2)}% from the cache (${m.fromMixer} Mixer calls)`,
          ]
        : [],
    ),
    row('straight to Mixer (its own ext_authz)', straight.result),
    loadedVariant?.loaded
      ? `with the agent's cache: ${(loadedVariant.loaded.result.perSecond / straight.result.perSecond).toFixed(2)}x the throughput, p99 ${loadedVariant.loaded.result.p99.toFixed(2)} vs ${straight.result.p99.toFixed(2)} ms; Mixer sees ${((100 * loadedVariant.fromMixer) / Math.max(1, loadedVariant.fromCache + loadedVariant.fromMixer)).toFixed(1)}% of checks`
      : '',
    '',
    ...capacity,
    '',
    `the Mixer path, gateway (agent router) next to sidecar, proxy image, medians of ${values.rounds} alternating runs (the agent's CPU time per request from /proc: steadier than throughput on a shared machine)`,
    pairLine('ext_authz checks, sidecar', 'check', 'sidecar'),
    pairLine('ext_authz checks, gateway', 'check', 'gateway'),
    `${''.padEnd(36)} gateway/sidecar CPU per check ${costRatio('sidecar', 'gateway').toFixed(2)}x`,
    pairLine('access log entries, sidecar', 'entry', 'als-sidecar'),
    pairLine('access log entries, gateway', 'entry', 'als-gateway'),
    `${''.padEnd(36)} gateway/sidecar CPU per entry ${costRatio('als-sidecar', 'als-gateway').toFixed(2)}x`,
    `target: the gateway's Mixer path costs no more CPU per request than the sidecar's (within 5%, the run-to-run spread): ${worst <= 1.05 ? 'met' : 'not met'} (worst ${worst.toFixed(2)}x)`,
    '',
    `tracing at 1% next to none, proxy image sidecar, a traced Envoy's checks (B3 on every call, 1 in 100 sampled), medians of ${values.rounds} alternating runs`,
    traceLine('off', 'ext_authz checks, no tracing'),
    traceLine('on', 'ext_authz checks, tracing at 1%'),
    `${''.padEnd(36)} with/without tracing CPU per check ${traceRatio.toFixed(2)}x; ${String(spansSent)} spans sent; idle RSS ${tracedIdle.on.rssMb.toFixed(1)} vs ${tracedIdle.off.rssMb.toFixed(1)} MB (OpenTelemetry loaded vs not)`,
    `target: tracing at 1% costs nothing measurable on the check path (within 5%, the run-to-run spread): ${traceRatio <= 1.05 ? 'met' : 'not met'} (${traceRatio.toFixed(2)}x)`,
    '',
    `${'memory, MB'.padEnd(56)}  ${'process (/proc)'.padEnd(28)} container (cgroup)`,
    `${''.padEnd(56)}    RSS   anon   file    USS   working   peak  cache`,
    memRow('bare node, idle', bareMem),
    ...measured.flatMap((m) => [
      memRow(`${m.variant.name}, idle`, m.idle),
      ...(m.loaded ? [memRow(`${m.variant.name}, peak under load`, m.loaded.peak)] : []),
    ]),
    memRow('gateway (agent router), proxy image, idle (no cgroup)', gatewayIdle),
    bareCgroup
      ? ''
      : 'container figures: n/a (no writable memory cgroup here; needs root and a cgroup v1 memory or v2 hierarchy)',
    `target <= 40 MB idle: container working set ${Number.isFinite(workingSet) ? `${workingSet.toFixed(1)} MB, ${workingSet <= 40 ? 'met' : 'not met'}` : 'not measured'}; RSS ${rss.toFixed(1)} MB, ${rss <= 40 ? 'met' : `not met (a bare Node process is ${bareMem.rssMb.toFixed(1)} MB RSS, ${bareMem.fileMb.toFixed(1)} MB of it the Node binary's file pages, shared by every process that runs it)`}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({ straight: straight.result, bare: bareMem, measured: measured.map((m) => ({ name: m.variant.name, idle: m.idle, load: m.loaded?.result, peak: m.loaded?.peak, fromCache: m.fromCache, fromMixer: m.fromMixer })), gatewayVsSidecar: Object.fromEntries(runs), gatewayIdle, tracing: { runs: traceRuns, idle: tracedIdle, spansSent } })}\n`,
  );
} catch (e) {
  if (e !== capacityOnlyDone) throw e;
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await sleep(200);
  for (const c of cgroups) c.remove();
  rmSync(root, { recursive: true, force: true });
}

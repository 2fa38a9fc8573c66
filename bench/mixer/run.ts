/**
 * bench/mixer: Mixer's Check/s and latency over gRPC (uncached: every call reaches Mixer) with the
 * mixer/examples deny, whitelist and quota rules loaded, and batched Report throughput in attribute
 * sets/s (telemetry rules: prometheus, stdio), each against a no-op grpc-js server measured in the
 * same run. The server is pinned to one core (taskset -c 0) and the load generator to the other
 * (taskset -c 1) when taskset exists.
 *
 * Latency is measured open-loop (requests sent on schedule, not when the previous one answers) at
 * each of --rates, before the closed loop: the target's 5,000/s, and 2,000/s, well below
 * saturation, where p99 shows Mixer's own latency rather than queueing. Both processes' GC pauses
 * (grpc-js grows either heap to ~100 MB under load) make most of the tail; compare with the
 * no-op server's. The server's CPU time per call (from /proc) is printed
 * too: on a shared machine, throughput moves with the neighbours' load, CPU per call much less;
 * 1e6 / (µs per call) is what one core of Mixer can serve when it has the core to itself.
 *
 * With --runs N, the phases run N times (no-op and Mixer alternating) and the medians are printed.
 * Targets: >= 5,000 Check/s with p99 <= 5 ms at 5,000/s offered, >= 50,000 reported sets/s.
 *
 * Capacity on one core (issue 19; bench/grpc-capacity.ts): with the raw HTTP/2 load client as the
 * load (grpc-go-client -raw: grpc-go's own client, or a Node one, costs about what the server does
 * per call, so it would be the limit), each
 * server's most Check/s (closed loop, --capacityConcurrency in flight), its CPU per call and
 * memory under load, the ratio Mixer / no-op, and a latency curve at 25, 50 and 75% of each
 * one's own maximum; a bare responder on our HTTP/2 transport (lib/h2) beside them is the transport's floor. Targets: >= 2x the no-op grpc-js handler, p99 <= 5 ms at 50%.
 * --capacityOnly runs just that.
 *
 *   npm run bench:mixer [-- --seconds N --rates R1,R2 --concurrency C --batch B --runs N
 *                          --capacityConcurrency C --capacityOnly]
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  capacity,
  capacityLine,
  curveLines,
  latencyCurve,
  medianCurve,
  medianOf,
  type Capacity,
  type CurvePoint,
} from '../grpc-capacity.ts';
import { cpuMicros, firstLine, hasTaskset, pinnedNode, pinThisProcess } from '../pinned-process.ts';
import { checkRequests } from './workload.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rates: { type: 'string', default: '5000,2000' },
    concurrency: { type: 'string', default: '32' },
    reportConcurrency: { type: 'string', default: '4' },
    batch: { type: 'string', default: '100' },
    runs: { type: 'string', default: '1' },
    capacityConcurrency: { type: 'string', default: '64' },
    capacityOnly: { type: 'boolean', default: false },
  },
});

// This runner waits on the load's core (1), not the server's.
pinThisProcess(1);

function node(core: number, script: string, args: string[]): ChildProcess {
  return pinnedNode(core, [fileURLToPath(new URL(script, import.meta.url)), ...args]);
}

interface Latency {
  rate: number;
  achieved: number;
  p50: number;
  p99: number;
}

interface CheckResult {
  throughput: number;
  open: Latency[];
  total: number;
  /** The load generator's CPU µs per call (its own core: near 1e6 / rate, it is the limit). */
  clientCpu: number;
  /** Server CPU µs per call (added here). */
  cpu: number;
}

interface ReportResult {
  sets: number;
  batch: number;
  total: number;
  /** Server CPU µs per attribute set (added here). */
  cpu: number;
}

async function measure<T extends { total: number; cpu: number }>(
  server: 'mixer' | 'noop',
  args: string[],
): Promise<T> {
  const s = node(0, './server.ts', [server]);
  try {
    const port = await firstLine(s);
    const cpu0 = cpuMicros(s.pid);
    const load = node(1, './load.ts', [port, values.seconds, ...args]);
    const line = await firstLine(load);
    await once(load, 'exit');
    const r = JSON.parse(line) as T;
    r.cpu = (cpuMicros(s.pid) - cpu0) / r.total;
    return r;
  } finally {
    s.kill('SIGTERM');
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

interface CapacityRun {
  readonly max: Capacity;
  readonly curve: CurvePoint[];
}

/** One server's maximum and latency curve, the raw HTTP/2 load client as the load. */
async function capacityOf(server: 'mixer' | 'noop' | 'floor'): Promise<CapacityRun> {
  const s = node(0, './server.ts', [server]);
  try {
    const port = await firstLine(s);
    const target = { target: `127.0.0.1:${port}`, pid: s.pid ?? 0 };
    const spec = {
      method: '/istio.mixer.v1.Mixer/Check',
      requests: checkRequests(),
      seconds: Number(values.seconds),
      concurrency: Number(values.capacityConcurrency),
      core: 1,
    };
    const max = await capacity(target, spec);
    return { max, curve: await latencyCurve(target, spec, max.perSecond) };
  } finally {
    s.kill('SIGTERM');
  }
}

const checkArgs = ['check', values.concurrency, values.rates];
const reportArgs = ['report', values.reportConcurrency, values.batch];
const runs: { noop: [CheckResult, ReportResult]; mixer: [CheckResult, ReportResult] }[] = [];
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '?');
const f2 = (n: number) => n.toFixed(2);

function print(label: string, c: CheckResult[], r: ReportResult[]): void {
  const lat = (c[0]?.open ?? []).map((_, i) => {
    const p50 = median(c.map((x) => x.open[i]?.p50 ?? NaN));
    const p99 = median(c.map((x) => x.open[i]?.p99 ?? NaN));
    const achieved = median(c.map((x) => x.open[i]?.achieved ?? NaN));
    return `at ${f0(achieved)}/s: p50 ${f2(p50)} ms p99 ${f2(p99)} ms`;
  });
  const cpu = median(c.map((x) => x.cpu));
  const client = median(c.map((x) => x.clientCpu));
  console.log(
    `${label.padEnd(20)} ${f0(median(c.map((x) => x.throughput))).padStart(6)} Check/s (CPU per call: server ${f0(cpu)} µs, client ${f0(client)} µs) | ${lat.join(' | ')}`,
  );
  const rcpu = median(r.map((x) => x.cpu));
  console.log(
    `${label.padEnd(20)} ${f0(median(r.map((x) => x.sets))).padStart(6)} sets/s reported (${String(r[0]?.batch)} per Report; ${f2(rcpu)} µs CPU per set: ${f0(1e6 / rcpu)}/s on a core of its own)`,
  );
}

console.log(
  `bench/mixer: ${values.seconds}s per phase, ${values.runs} run(s), server ${hasTaskset ? 'pinned to one core, load on another' : 'unpinned (no taskset)'}, Node ${process.version}`,
);
const capacityRuns: { noop: CapacityRun; floor: CapacityRun; mixer: CapacityRun }[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  capacityRuns.push({
    noop: await capacityOf('noop'),
    floor: await capacityOf('floor'),
    mixer: await capacityOf('mixer'),
  });
  if (values.capacityOnly) continue;
  const run = {
    noop: [
      await measure<CheckResult>('noop', checkArgs),
      await measure<ReportResult>('noop', reportArgs),
    ] as [CheckResult, ReportResult],
    mixer: [
      await measure<CheckResult>('mixer', checkArgs),
      await measure<ReportResult>('mixer', reportArgs),
    ] as [CheckResult, ReportResult],
  };
  runs.push(run);
  if (Number(values.runs) > 1) {
    console.log(`run ${String(i + 1)}:`);
    print('  no-op gRPC handler', [run.noop[0]], [run.noop[1]]);
    print('  istio-lite mixer', [run.mixer[0]], [run.mixer[1]]);
  }
}
if (Number(values.runs) > 1) console.log(`medians of ${values.runs} runs:`);
printCapacity();
if (values.capacityOnly) process.exit(0);
const noopC = runs.map((r) => r.noop[0]);
const noopR = runs.map((r) => r.noop[1]);
const mixC = runs.map((r) => r.mixer[0]);
const mixR = runs.map((r) => r.mixer[1]);
print('no-op gRPC handler', noopC, noopR);
print('istio-lite mixer', mixC, mixR);
const checkRate = median(mixC.map((x) => x.throughput));
const sets = median(mixR.map((x) => x.sets));
console.log(
  `mixer/no-op: Check ${f2(checkRate / median(noopC.map((x) => x.throughput)))}, Report ${f2(sets / median(noopR.map((x) => x.sets)))}`,
);
const p99At5000 = median(mixC.map((x) => x.open[0]?.p99 ?? Infinity));
const ok = checkRate >= 5000 && p99At5000 <= 5 && sets >= 50_000;
console.log(
  `targets (>= 5,000 Check/s, p99 <= 5 ms at the first rate, >= 50,000 sets/s): ${ok ? 'met' : 'NOT met'}`,
);

function printCapacity(): void {
  const side = (k: 'noop' | 'floor' | 'mixer') => ({
    max: medianOf(capacityRuns.map((r) => r[k].max)),
    curve: medianCurve(capacityRuns.map((r) => r[k].curve)),
  });
  const noop = side('noop');
  const floor = side('floor');
  const mixer = side('mixer');
  const ratio = mixer.max.perSecond / noop.max.perSecond;
  const p99Half = mixer.curve.find((p) => p.fraction === 0.5)?.p99 ?? Infinity;
  console.log(
    `capacity on one core, the load client (grpc-go-client -raw) on the other (${values.capacityConcurrency} in flight; open loop at 25/50/75% of each one's max):`,
  );
  console.log(capacityLine('no-op grpc-js handler', noop.max, 'Check'));
  console.log(capacityLine('bare lib/h2 responder (floor)', floor.max, 'Check'));
  console.log(capacityLine('istio-lite mixer', mixer.max, 'Check'));
  for (const l of curveLines('no-op grpc-js handler', noop.curve)) console.log(l);
  for (const l of curveLines('bare lib/h2 responder', floor.curve)) console.log(l);
  for (const l of curveLines('istio-lite mixer', mixer.curve)) console.log(l);
  console.log(
    `floor/no-op ${f2(floor.max.perSecond / noop.max.perSecond)}x (the most a server on lib/h2 reaches); mixer/no-op max Check/s ${f2(ratio)}x; targets (>= 2x, p99 <= 5 ms at 50% of its max): ${ratio >= 2 && p99Half <= 5 ? 'met' : 'NOT met'} (p99 ${f2(p99Half)} ms)`,
  );
}

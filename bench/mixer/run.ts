/**
 * bench/mixer: Mixer's Check/s and latency over gRPC (uncached: every call reaches Mixer) with the
 * REFERENCE deny, whitelist and quota rules loaded, and batched Report throughput in attribute
 * sets/s (telemetry rules: prometheus, stdio), each against a no-op grpc-js server measured in the
 * same run. The server is pinned to one core (taskset -c 0) and the load generator to the other
 * (taskset -c 1) when taskset exists. Targets: >= 5,000 Check/s with p99 <= 5 ms (at 5,000/s
 * offered), >= 50,000 reported attribute sets/s.
 *
 *   npm run bench:mixer [-- --seconds N --rate R --concurrency C --batch B]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rate: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    batch: { type: 'string', default: '100' },
  },
});

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

function node(core: number, script: string, args: string[]): ChildProcess {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const cmd = hasTaskset ? 'taskset' : process.execPath;
  const argv = hasTaskset ? ['-c', String(core), process.execPath, path, ...args] : [path, ...args];
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function firstLine(p: ChildProcess): Promise<string> {
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  while (!out.includes('\n')) {
    await Promise.race([
      once(p.stdout ?? p, 'data'),
      once(p, 'exit').then(() => {
        throw new Error('process exited');
      }),
    ]);
  }
  return out.split('\n')[0] ?? '';
}

interface CheckResult {
  throughput: number;
  rate: number;
  achieved: number;
  p50: number;
  p99: number;
}

interface ReportResult {
  calls: number;
  sets: number;
  batch: number;
}

async function measure<T>(server: 'mixer' | 'noop', args: string[]): Promise<T> {
  const s = node(0, './server.ts', [server]);
  try {
    const port = await firstLine(s);
    const load = node(1, './load.ts', [port, values.seconds, ...args]);
    const line = await firstLine(load);
    await once(load, 'exit');
    return JSON.parse(line) as T;
  } finally {
    s.kill('SIGTERM');
  }
}

const checkArgs = ['check', values.concurrency, values.rate];
const reportArgs = ['report', '4', values.batch];
const noopCheck = await measure<CheckResult>('noop', checkArgs);
const mixerCheck = await measure<CheckResult>('mixer', checkArgs);
const noopReport = await measure<ReportResult>('noop', reportArgs);
const mixerReport = await measure<ReportResult>('mixer', reportArgs);

console.log(
  `bench/mixer: ${values.seconds}s per phase, server ${hasTaskset ? 'pinned to one core, load on another' : 'unpinned (no taskset)'}, Node ${process.version}`,
);
const row = (name: string, r: CheckResult) =>
  `${name.padEnd(24)} ${r.throughput.toFixed(0).padStart(7)} Check/s   at ${r.achieved.toFixed(0)}/s offered: p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`;
console.log(row('no-op gRPC handler', noopCheck));
console.log(row('istio-lite mixer', mixerCheck));
console.log(
  `${'no-op gRPC handler'.padEnd(24)} ${noopReport.sets.toFixed(0).padStart(7)} attribute sets/s reported (${String(noopReport.batch)} per Report)`,
);
console.log(
  `${'istio-lite mixer'.padEnd(24)} ${mixerReport.sets.toFixed(0).padStart(7)} attribute sets/s reported (${String(mixerReport.batch)} per Report)`,
);
console.log(
  `mixer/no-op: Check ${(mixerCheck.throughput / noopCheck.throughput).toFixed(2)}, Report ${(mixerReport.sets / noopReport.sets).toFixed(2)}`,
);
const ok = mixerCheck.throughput >= 5000 && mixerCheck.p99 <= 5 && mixerReport.sets >= 50_000;
console.log(`targets (>= 5,000 Check/s, p99 <= 5 ms, >= 50,000 sets/s): ${ok ? 'met' : 'NOT met'}`);

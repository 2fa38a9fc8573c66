/**
 * bench/webhook: the webhook against a bare Node HTTPS echo in the same run, over keep-alive HTTPS
 * with a realistic AdmissionReview (the productpage pod). Each server runs pinned to one core
 * (taskset -c 0) and the load generator on the other (taskset -c 1) when taskset exists. Per server:
 * the most requests/s it answers (closed loop), p50/p99 at a fixed rate (open loop, from each
 * request's due time), and in that steady state its CPU µs per request and resident memory. The
 * echo uses the webhook's TLS settings and keep-alive and answers as many bytes. The webhook is
 * measured twice: with the same pod in every request (how a ReplicaSet's pods arrive: the injector
 * reuses its answer, webhook/answer-memo.ts) and with every pod different (a label of its own).
 * Targets: webhook/echo throughput >= 0.5, webhook p99 <= 5 ms at 500 req/s.
 *
 *   npm run bench:webhook [-- --seconds N --rate R --concurrency C --runs N
 *                             --log-level info --cpu-prof DIR]
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { firstLine, hasTaskset, pinnedNode } from '../pinned-process.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rate: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '16' },
    runs: { type: 'string', default: '1' },
    'log-level': { type: 'string', default: 'info' },
    'cpu-prof': { type: 'string' },
  },
});

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag}: a positive number, not "${v}"`);
  return n;
}
const seconds = positive('seconds', values.seconds);
const rate = positive('rate', values.rate);
const concurrency = positive('concurrency', values.concurrency);
const runs = positive('runs', values.runs);

function script(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
}

interface LoadResult {
  /** Closed loop: requests/s, the server's and the load generator's CPU µs per request. */
  readonly throughput: number;
  readonly serverMaxCpu: number;
  readonly loadCpu: number;
  /** Share of its core the load generator used in the closed loop. */
  readonly loadBusy: number;
  /** Open loop at `rate`: latency (ms) from due time, the sender's own lateness, steady-state cost. */
  readonly rate: number;
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly lateP99: number;
  readonly serverCpu: number;
  readonly rss: number;
}

async function measure(
  mode: 'inject' | 'echo',
  pods: 'same' | 'distinct' = 'same',
): Promise<LoadResult> {
  const prof =
    mode === 'inject' && values['cpu-prof'] !== undefined
      ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`]
      : [];
  const server: ChildProcess = pinnedNode(0, [
    ...prof,
    script('./server.ts'),
    mode,
    values['log-level'],
  ]);
  try {
    const port = await firstLine(server);
    const load = pinnedNode(1, [
      script('./load.ts'),
      port,
      String(server.pid),
      String(seconds),
      String(rate),
      String(concurrency),
      pods,
    ]);
    const exited = once(load, 'exit');
    const line = await firstLine(load);
    const [code] = (await exited) as [number | null];
    if (code !== 0) throw new Error(`load generator exited with ${String(code)}`);
    return JSON.parse(line) as LoadResult;
  } finally {
    const exited = server.exitCode === null ? once(server, 'exit') : Promise.resolve();
    server.kill('SIGTERM');
    await exited;
  }
}

const loadavg = (): string =>
  readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

const load0 = loadavg();
const results: { echo: LoadResult; inject: LoadResult; distinct: LoadResult }[] = [];
for (let k = 0; k < runs; k++) {
  const echo = await measure('echo');
  const inject = await measure('inject');
  const distinct = await measure('inject', 'distinct');
  results.push({ echo, inject, distinct });
}

const line = (name: string, r: LoadResult): string =>
  `${name.padEnd(20)} ${r.throughput.toFixed(0).padStart(6)} req/s (${r.serverMaxCpu.toFixed(0)} µs CPU/req)` +
  `   at ${String(r.rate)} req/s: p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(1)} ms` +
  `   steady: ${r.serverCpu.toFixed(0)} µs CPU/req, RSS ${(r.rss / 2 ** 20).toFixed(0)} MiB`;

console.log(
  `bench/webhook: ${String(seconds)}s per phase, ${String(runs)} run(s), servers ${hasTaskset ? 'pinned to one core' : 'unpinned (no taskset)'}, ` +
    `webhook logs at ${values['log-level']}, Node ${process.version}, load average ${load0} before, ${loadavg()} after`,
);
results.forEach(({ echo, inject, distinct }, k) => {
  if (runs > 1) console.log(`run ${String(k + 1)}:`);
  console.log(line('bare HTTPS echo', echo));
  console.log(line('webhook, same pod', inject));
  console.log(line('webhook, every pod new', distinct));
  console.log(
    `load generator: ${echo.loadCpu.toFixed(0)} µs CPU/req (could send ~${(1e6 / echo.loadCpu).toFixed(0)} req/s on its core; ` +
      `${(100 * echo.loadBusy).toFixed(0)}% busy at the echo's max), p99 lateness at ${String(rate)} req/s ${inject.lateP99.toFixed(2)} ms`,
  );
});
const ratio = median(results.map((r) => r.inject.throughput / r.echo.throughput));
// On a shared machine a server gets what share of its core the neighbours leave it, so throughput
// moves from run to run; CPU time per request much less. Echo's over the webhook's is the
// throughput ratio the two would have with a whole core each.
const cpuRatio = median(results.map((r) => r.echo.serverMaxCpu / r.inject.serverMaxCpu));
const p99 = median(results.map((r) => r.inject.p99));
console.log(
  `${runs > 1 ? 'medians: ' : ''}webhook/echo throughput ratio ${ratio.toFixed(2)} (goal >= 0.5; ` +
    `by CPU per request at full load ${cpuRatio.toFixed(2)}), ` +
    `webhook p99 at ${String(rate)} req/s ${p99.toFixed(2)} ms (goal <= 5), ` +
    `echo p99 ${median(results.map((r) => r.echo.p99)).toFixed(2)} ms, ` +
    `webhook steady ${median(results.map((r) => r.inject.serverCpu)).toFixed(0)} µs CPU/req and ` +
    `${(median(results.map((r) => r.inject.rss)) / 2 ** 20).toFixed(0)} MiB RSS`,
);
const distinctRatio = median(results.map((r) => r.distinct.throughput / r.echo.throughput));
const distinctP99 = median(results.map((r) => r.distinct.p99));
console.log(
  `every pod new: webhook/echo throughput ratio ${distinctRatio.toFixed(2)} (by CPU ${median(results.map((r) => r.echo.serverMaxCpu / r.distinct.serverMaxCpu)).toFixed(2)}), p99 at ${String(rate)} req/s ${distinctP99.toFixed(2)} ms`,
);
console.log(
  `targets: same pod (a ReplicaSet's pods) ${ratio >= 0.5 && p99 <= 5 ? 'met' : 'NOT met'}; every pod new ${distinctRatio >= 0.5 && distinctP99 <= 5 ? 'met' : 'NOT met'}`,
);
if (values['cpu-prof'] !== undefined) console.log(`webhook CPU profile in ${values['cpu-prof']}`);

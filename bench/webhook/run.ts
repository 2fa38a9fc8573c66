/**
 * bench/webhook: the webhook's requests/s and latency over keep-alive HTTPS with a realistic
 * AdmissionReview, against a bare Node HTTPS echo measured in the same run. The server runs
 * pinned to one core (taskset -c 0) and the load generator on the other (taskset -c 1) when
 * taskset exists. Targets: >= 2,000 req/s on one core, p99 <= 5 ms at 500 req/s.
 *
 *   npm run bench:webhook [-- --seconds N --rate R --concurrency C]
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { firstLine, hasTaskset, pinnedNode } from '../pinned-process.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rate: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '16' },
  },
});

function node(core: number, script: string, args: string[]): ChildProcess {
  return pinnedNode(core, [fileURLToPath(new URL(script, import.meta.url)), ...args]);
}

interface LoadResult {
  throughput: number;
  rate: number;
  p50: number;
  p99: number;
  n: number;
}

async function measure(mode: 'inject' | 'echo'): Promise<LoadResult> {
  const server = node(0, './server.ts', [mode]);
  try {
    const port = await firstLine(server);
    const load = node(1, './load.ts', [port, values.seconds, values.rate, values.concurrency]);
    const line = await firstLine(load);
    await once(load, 'exit');
    return JSON.parse(line) as LoadResult;
  } finally {
    server.kill('SIGTERM');
  }
}

const echo = await measure('echo');
const inject = await measure('inject');
console.log(
  `bench/webhook: ${values.seconds}s per phase, server ${hasTaskset ? 'pinned to one core' : 'unpinned (no taskset)'}, Node ${process.version}`,
);
for (const [name, r] of [
  ['bare HTTPS echo', echo],
  ['istio-lite webhook', inject],
] as const) {
  console.log(
    `${name.padEnd(20)} ${r.throughput.toFixed(0).padStart(6)} req/s   at ${String(r.rate)} req/s: p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`,
  );
}
console.log(`webhook/echo throughput ratio: ${(inject.throughput / echo.throughput).toFixed(2)}`);
const ok = inject.throughput >= 2000 && inject.p99 <= 5;
console.log(`targets (>= 2,000 req/s, p99 <= 5 ms at 500 req/s): ${ok ? 'met' : 'NOT met'}`);

/**
 * The client side of bench/webhook (its own process, its own core): requests on keep-alive HTTPS
 * connections (client.ts, one request at a time on each, as the API server calls) with
 * the productpage AdmissionReview (webhook/testing/productpage-review.ts), first closed-loop at full
 * speed, then open-loop at a fixed rate. Open-loop latency is counted from when each request was
 * due, not when it was sent, so a late sender cannot hide a slow server (its own lateness is printed
 * beside). Reads the server's CPU time and memory from /proc around each phase, and its own CPU time
 * per request (what it could drive on its core). Prints one JSON line of results.
 * PODS: `same` sends one pod throughout (a ReplicaSet's pods reach the webhook as the same object),
 * `distinct` makes each request's pod its own (a label with the request's number).
 *   load.ts PORT SERVER_PID SECONDS RATE CONCURRENCY [same|distinct]
 */
import { readFileSync } from 'node:fs';
import { productpageReview } from '../../webhook/testing/productpage-review.ts';
import { cpuMicros } from '../pinned-process.ts';
import { openConnection, postBytes, type Connection } from './client.ts';

const [portArg, pidArg, secondsArg, rateArg, concArg, podsArg = 'same'] = process.argv.slice(2);
const port = Number(portArg);
const serverPid = Number(pidArg);
const seconds = Number(secondsArg ?? '4');
const rate = Number(rateArg ?? '500');
const concurrency = Number(concArg ?? '16');

// The review's text with each request's uid put in (as the API server gives each its own), and
// with `distinct` a label of the pod's own (the first "labels" is the pod's metadata).
if (podsArg !== 'same' && podsArg !== 'distinct')
  throw new Error(`PODS: same or distinct, not ${podsArg}`);
const review = productpageReview()('@uid@').replace('"labels":{', '"labels":{"bench-pod":"@n@",');
const [before = '', after = ''] = review.split('@uid@');
let uid = 0;
const nextRequest = () => {
  const n = String(uid++);
  const text = `${before}bench-${n}${after}`;
  return postBytes(
    '/inject?timeout=10s',
    podsArg === 'same' ? text.replace('@n@', '0') : text.replace('@n@', n),
  );
};

const connections: Connection[] = await Promise.all(
  Array.from({ length: concurrency }, () => openConnection(port)),
);
const idle = [...connections];
const queue: ((c: Connection) => void)[] = [];

/** One request on an idle connection (waiting for one, as a client pool does); fails on a non-200. */
async function once(): Promise<void> {
  const c = idle.pop() ?? (await new Promise<Connection>((r) => queue.push(r)));
  try {
    const status = await c.send(nextRequest());
    if (status !== 200) throw new Error(`status ${String(status)}`);
  } finally {
    const next = queue.shift();
    if (next === undefined) idle.push(c);
    else next(c);
  }
}

function pct(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
  return m?.[1] === undefined ? NaN : Number(m[1]) * 1024;
}

const ownCpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// Warm up connections and the server's JIT.
for (let i = 0; i < 3000; i += concurrency)
  await Promise.all(Array.from({ length: concurrency }, once));

// Closed loop: the most the server answers on its core.
let done = 0;
const end = performance.now() + seconds * 1000;
const t0 = performance.now();
const server0 = cpuMicros(serverPid);
const own0 = ownCpu();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await once();
      done++;
    }
  }),
);
const elapsed = (performance.now() - t0) / 1000;
const throughput = done / elapsed;
const serverMaxCpu = (cpuMicros(serverPid) - server0) / done;
const loadCpu = (ownCpu() - own0) / done;
const loadBusy = (ownCpu() - own0) / 1e6 / elapsed;

// Open loop at a fixed rate: latency from each request's due time, and the steady state's cost.
await new Promise((r) => setTimeout(r, 500));
const latencies: number[] = [];
const lateness: number[] = [];
const pending: Promise<void>[] = [];
const interval = 1000 / rate;
const start = performance.now();
const server1 = cpuMicros(serverPid);
let sent = 0;
while (performance.now() - start < seconds * 1000) {
  const now = performance.now();
  // Everything due by now goes out now, so a late timer does not lower the rate.
  for (; start + sent * interval <= now; sent++) {
    const due = start + sent * interval;
    lateness.push(now - due);
    pending.push(once().then(() => void latencies.push(performance.now() - due)));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, start + sent * interval - performance.now())));
}
await Promise.all(pending);
const serverCpu = (cpuMicros(serverPid) - server1) / sent;
const rss = rssBytes(serverPid);
for (const c of connections) c.close();
latencies.sort((a, b) => a - b);
lateness.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    throughput,
    serverMaxCpu,
    loadCpu,
    loadBusy,
    rate,
    n: latencies.length,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    max: latencies.at(-1) ?? 0,
    lateP99: pct(lateness, 0.99),
    serverCpu,
    rss,
  })}\n`,
);

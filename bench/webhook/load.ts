/**
 * The client side of bench/webhook (its own process, its own core): keep-alive HTTPS requests with
 * the productpage AdmissionReview (webhook/testing/productpage-review.ts), first closed-loop at full
 * speed, then open-loop at a fixed rate. Open-loop latency is counted from when each request was
 * due, not when it was sent, so a late sender cannot hide a slow server (its own lateness is printed
 * beside). Reads the server's CPU time and memory from /proc around each phase, and its own CPU time
 * per request (what it could drive on its core). Prints one JSON line of results.
 *   load.ts PORT SERVER_PID SECONDS RATE CONCURRENCY
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { productpageReview } from '../../webhook/testing/productpage-review.ts';
import { cpuMicros } from '../pinned-process.ts';

const [portArg, pidArg, secondsArg, rateArg, concArg] = process.argv.slice(2);
const port = Number(portArg);
const serverPid = Number(pidArg);
const seconds = Number(secondsArg ?? '4');
const rate = Number(rateArg ?? '500');
const concurrency = Number(concArg ?? '16');

const review = productpageReview();
let uid = 0;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency, rejectUnauthorized: false });

/** One request; resolves when its answer has been read, rejects on anything but a 200. */
function once(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/inject?timeout=10s',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`status ${String(res.statusCode)}`));
          else resolve();
        });
      },
    );
    req.on('error', reject);
    req.end(review(`bench-${String(uid++)}`));
  });
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
agent.destroy();
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

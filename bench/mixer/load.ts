/**
 * The client side of bench/mixer (its own process, its own core), with a real grpc-js client:
 *   load.ts PORT SECONDS check CONCURRENCY RATES   Check closed-loop (throughput), then open-loop
 *                                                  at each of RATES (comma-separated, per second)
 *   load.ts PORT SECONDS report CONCURRENCY BATCH  Report closed-loop, BATCH attribute sets a call
 * Checks are uncached: every call goes to the server, cycling through sources v1..v4 to ratings
 * (whitelisted, denied, not whitelisted) with quota asks. Prints one JSON line, with `total`: every
 * call made, warm-up included (the server's CPU time is divided by it), and `clientCpu`: this
 * process's CPU µs per call.
 */
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { compressReport } from '../../lib/mixer/compress.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import { attributes, checkRequests } from './workload.ts';

const [portArg, secondsArg, mode = 'check', concArg, extraArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? '3');
const concurrency = Number(concArg ?? '32');
const client = new Client(`127.0.0.1:${String(portArg)}`, credentials.createInsecure());
const service = mixerService();
let total = 0;

/** Requests are encoded once up front and answers are not decoded: the client stays cheap. */
function encoder(method: 'Check' | 'Report'): (req: object) => Buffer {
  const def = service[method];
  if (!def) throw new Error(`no ${method}`);
  return (req) => def.requestSerialize(req);
}

function send(method: 'Check' | 'Report', bytes: Buffer): Promise<void> {
  total++;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/istio.mixer.v1.Mixer/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      {},
      (err: ServiceError | null) => {
        if (err) reject(err);
        else resolve();
      },
    );
  });
}

/** This process's CPU µs per call so far: near 1e6 / rate, the client is the bottleneck. */
function cpuPerCall(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / total;
}

function pct(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

async function closedLoop(call: () => Promise<unknown>): Promise<number> {
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await call();
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

/**
 * Open loop: every turn, send what is due at `rate`; latency from send to answer. Calls in flight
 * are counted, not kept (holding thousands of promises would add the client's own GC pauses to
 * the latencies it measures).
 */
async function openLoop(call: () => Promise<unknown>, rate: number) {
  const latencies: number[] = [];
  let inFlight = 0;
  let failure: unknown;
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < due; sent++) {
      const t0 = performance.now();
      inFlight++;
      call().then(
        () => {
          latencies.push(performance.now() - t0);
          inFlight--;
        },
        (e: unknown) => {
          failure ??= e;
          inFlight--;
        },
      );
    }
    await new Promise((r) => setImmediate(r));
  }
  while (inFlight > 0) await new Promise((r) => setImmediate(r));
  if (failure !== undefined) throw new Error('a call failed', { cause: failure });
  const achieved = sent / ((performance.now() - start) / 1000);
  return { rate, achieved, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) };
}

if (mode === 'check') {
  const rates = (extraArg ?? '5000').split(',').map(Number);
  const requests = checkRequests();
  let n = 0;
  const once = () => send('Check', requests[n++ % requests.length] ?? Buffer.alloc(0));
  for (let i = 0; i < 3000; i += concurrency)
    await Promise.all(Array.from({ length: concurrency }, once));
  // Latency first: a closed loop's flood leaves both heaps grown, and the collections that
  // follow would land in the open loop's tail (no steady 2,000/s has that debt).
  const open = [];
  for (const rate of rates) open.push(await openLoop(once, rate));
  const throughput = await closedLoop(once);
  const clientCpu = cpuPerCall();
  process.stdout.write(`${JSON.stringify({ throughput, open, total, clientCpu })}\n`);
} else {
  const batch = Number(extraArg ?? '100');
  const encode = encoder('Report');
  const requests = Array.from({ length: 8 }, (_, r) => {
    const reqs = compressReport(Array.from({ length: batch }, (_, i) => attributes(r * batch + i)));
    if (reqs.length !== 1 || !reqs[0]) throw new Error('batch did not fit one request');
    return encode(reqs[0]);
  });
  let n = 0;
  const once = () => send('Report', requests[n++ % requests.length] ?? Buffer.alloc(0));
  for (let i = 0; i < 200; i += concurrency)
    await Promise.all(Array.from({ length: concurrency }, once));
  const calls = await closedLoop(once);
  const clientCpu = cpuPerCall();
  process.stdout.write(
    `${JSON.stringify({ calls, sets: calls * batch, batch, total: total * batch, clientCpu })}\n`,
  );
}
client.close();

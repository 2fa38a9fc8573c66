/**
 * The client side of bench/mixer (its own process, its own core), with a real grpc-js client:
 *   load.ts PORT SECONDS check CONCURRENCY RATE   Check closed-loop (throughput), then open-loop at
 *                                                 RATE per second (latency)
 *   load.ts PORT SECONDS report CONCURRENCY BATCH Report closed-loop, BATCH attribute sets a call
 * Checks are uncached: every call goes to the server, cycling through sources v1..v4 to ratings
 * (whitelisted, denied, not whitelisted) with quota asks. Prints one JSON line.
 */
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { compress, compressReport } from '../../lib/mixer/compress.ts';
import { globalWordCount } from '../../lib/mixer/global-dictionary.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import { Duration, IpAddress, type Value } from '../../lib/mixer/value.ts';

const [portArg, secondsArg, mode = 'check', concArg, extraArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? '3');
const concurrency = Number(concArg ?? '32');
const client = new Client(`127.0.0.1:${String(portArg)}`, credentials.createInsecure());
const service = mixerService();

/** Requests are encoded once up front and answers are not decoded: the client stays cheap. */
function encoder(method: 'Check' | 'Report'): (req: object) => Buffer {
  const def = service[method];
  if (!def) throw new Error(`no ${method}`);
  return (req) => def.requestSerialize(req);
}

function send(method: 'Check' | 'Report', bytes: Buffer): Promise<void> {
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

function attributes(i: number): Map<string, Value> {
  const version = `v${String((i % 4) + 1)}`;
  return new Map<string, Value>([
    ['source.ip', IpAddress.parse(`10.1.${String(i % 200)}.${String(i % 250)}`) as IpAddress],
    [
      'source.labels',
      new Map([
        ['app', 'reviews'],
        ['version', version],
        ['pod-template-hash', `h${String(i % 7)}`],
      ]),
    ],
    ['source.service', 'reviews.default.svc.cluster.local'],
    ['source.uid', `kubernetes://reviews-${version}-${String(i % 13)}.default`],
    ['destination.ip', IpAddress.parse('10.2.0.9') as IpAddress],
    ['destination.port', 9080],
    [
      'destination.labels',
      new Map([
        ['app', 'ratings'],
        ['version', 'v1'],
      ]),
    ],
    ['destination.service', 'ratings.default.svc.cluster.local'],
    ['destination.uid', 'kubernetes://ratings-v1-0.default'],
    [
      'request.headers',
      new Map([
        [':authority', 'ratings:9080'],
        [':path', '/ratings/0'],
        ['user-agent', 'bench/1'],
        ['x-request-id', `req-${String(i)}`],
      ]),
    ],
    ['request.id', `req-${String(i)}`],
    ['request.path', '/ratings/0'],
    ['request.host', 'ratings:9080'],
    ['request.method', 'GET'],
    ['request.time', new Date(1_700_000_000_000 + i)],
    ['request.size', 0],
    ['response.code', i % 10 === 0 ? 503 : 200],
    ['response.size', 300 + (i % 50)],
    ['response.duration', new Duration(5 + (i % 20))],
    ['response.time', new Date(1_700_000_000_020 + i)],
    ['context.protocol', 'http'],
  ]);
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

if (mode === 'check') {
  const rate = Number(extraArg ?? '5000');
  const encode = encoder('Check');
  const requests = Array.from({ length: 64 }, (_, i) =>
    encode({
      attributes: compress(attributes(i)),
      global_word_count: globalWordCount,
      deduplication_id: '',
      quotas: { requestcount: { amount: 1, best_effort: false } },
    }),
  );
  let n = 0;
  const once = () => send('Check', requests[n++ % requests.length] ?? Buffer.alloc(0));
  for (let i = 0; i < 3000; i += concurrency)
    await Promise.all(Array.from({ length: concurrency }, once));
  const throughput = await closedLoop(once);
  // Open loop: every millisecond, send what is due; latency from send to answer.
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < due; sent++) {
      const t0 = performance.now();
      pending.push(once().then(() => void latencies.push(performance.now() - t0)));
    }
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pending);
  const achieved = sent / ((performance.now() - start) / 1000);
  process.stdout.write(
    `${JSON.stringify({ throughput, rate, achieved, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), n: latencies.length })}\n`,
  );
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
  process.stdout.write(`${JSON.stringify({ calls, sets: calls * batch, batch })}\n`);
}
client.close();

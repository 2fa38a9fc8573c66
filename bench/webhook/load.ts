/**
 * The client side of bench/webhook (its own process, its own core): keep-alive HTTPS requests with
 * a realistic AdmissionReview (the productpage pod from examples/), first closed-loop at full
 * speed, then open-loop at a fixed rate for latency. Prints one JSON line of results.
 *   load.ts PORT SECONDS RATE CONCURRENCY
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { isObject, type JsonObject } from '../../lib/json.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';

const [portArg, secondsArg, rateArg, concArg] = process.argv.slice(2);
const port = Number(portArg);
const seconds = Number(secondsArg ?? '3');
const rate = Number(rateArg ?? '500');
const concurrency = Number(concArg ?? '16');

const text = readFileSync(new URL('../../examples/10-productpage.yaml', import.meta.url), 'utf8');
const deployment = parseYamlDocuments(text)
  .map((d) => d.value)
  .find((v) => isObject(v) && v['kind'] === 'Deployment');
const template =
  isObject(deployment) && isObject(deployment['spec']) ? deployment['spec']['template'] : undefined;
if (!isObject(template)) throw new Error('no pod template in examples/10-productpage.yaml');
const pod: JsonObject = { apiVersion: 'v1', kind: 'Pod', ...template };

let uid = 0;
function body(): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `bench-${String(uid++)}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'demo',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
    },
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency, rejectUnauthorized: false });

function once(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/inject',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`status ${String(res.statusCode)}`));
          else resolve(performance.now() - t0);
        });
      },
    );
    req.on('error', reject);
    req.end(body());
  });
}

function pct(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

// Warm up connections and the server's JIT.
for (let i = 0; i < 2000; i += concurrency)
  await Promise.all(Array.from({ length: concurrency }, once));

// Closed loop: throughput.
let done = 0;
const end = performance.now() + seconds * 1000;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await once();
      done++;
    }
  }),
);
const throughput = done / ((performance.now() - t0) / 1000);

// Open loop at a fixed rate: latency.
const latencies: number[] = [];
const pending: Promise<void>[] = [];
const interval = 1000 / rate;
const start = performance.now();
for (let i = 0; performance.now() - start < seconds * 1000; i++) {
  const due = start + i * interval;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  pending.push(once().then((ms) => void latencies.push(ms)));
}
await Promise.all(pending);
agent.destroy();
process.stdout.write(
  `${JSON.stringify({ throughput, rate, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), n: latencies.length })}\n`,
);

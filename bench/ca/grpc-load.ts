/**
 * Load for the gRPC case: CreateCertificate calls with `concurrency` in flight over one TLS
 * channel for `seconds`, on pre-made CSRs; prints {"perSecond":…,"n":…,"errors":…,"p50":…,"p99":…}.
 */
import { parseArgs } from 'node:util';
import { createCaClient } from '../../lib/ca/client.ts';
import { createCsrPem } from '../../lib/pki/csr.ts';
import { generateKeysSync, isKeyAlgorithm } from '../../lib/pki/keys.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    root: { type: 'string' },
    alg: { type: 'string', default: 'ecdsa-p256' },
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
  },
});
const alg = values.alg;
if (!isKeyAlgorithm(alg) || values.port === undefined || values.root === undefined)
  throw new Error('usage');
const id = 'spiffe://cluster.local/ns/bench/sa/app';
const pool = Array.from({ length: alg.startsWith('rsa') ? 16 : 64 }, () =>
  createCsrPem({ ...generateKeysSync(alg), sans: { uris: [id] } }),
);
const client = createCaClient({ address: `localhost:${values.port}`, rootCertPem: values.root });
const call = (i: number) =>
  client.createCertificate({ csr: pool[i % pool.length] ?? '', token: 'bench-token' });
for (let i = 0; i < 50; i++) await call(i);

const deadline = performance.now() + Number(values.seconds) * 1000;
const latencies: number[] = [];
let errors = 0;
let next = 0;
const t0 = performance.now();
async function worker(): Promise<void> {
  while (performance.now() < deadline) {
    const start = performance.now();
    try {
      await call(next++);
      latencies.push(performance.now() - start);
    } catch {
      errors++;
    }
  }
}
await Promise.all(Array.from({ length: Number(values.concurrency) }, () => worker()));
const s = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
client.close();
process.stdout.write(
  `${JSON.stringify({ perSecond: latencies.length / s, n: latencies.length, errors, p50: q(0.5), p99: q(0.99) })}\n`,
);

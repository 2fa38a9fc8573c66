/**
 * bench/pilot: Pilot (alone in a child process) serving 1,000 services x 10 endpoints to 100 ADS
 * clients on raw streams that subscribe like Envoy (CDS, EDS, LDS, RDS, all ACKed). Reports the
 * time until every client holds a full config, Pilot's RSS, and after one endpoint change the time
 * until each client holds it (p50, p99 over clients and rounds; the 100 ms debounce included).
 * Targets: p99 convergence <= 1 s, RSS <= 400 MB.
 *
 *   npm run bench:pilot [-- --services 1000 --endpoints 10 --clients 100 --rounds 5]
 *                       [--pilot-node-flags=--max-semi-space-size=4]  (V8 flags for Pilot's process)
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EnvoyLikeClient } from './envoy-like-client.ts';
import { movedAddress, namespaces } from './mesh.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '10' },
    clients: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    'pilot-node-flags': { type: 'string', default: '' },
  },
});
const mesh = { services: Number(values.services), endpoints: Number(values.endpoints) };
const clientCount = Number(values.clients);
const rounds = Number(values.rounds);

const nodeFlags = values['pilot-node-flags'].split(' ').filter((f) => f !== '');
const childScript = fileURLToPath(new URL('./pilot-child.ts', import.meta.url));
const child = spawn(process.execPath, ['--expose-gc', ...nodeFlags, childScript], {
  env: { ...process.env, SERVICES: String(mesh.services), ENDPOINTS: String(mesh.endpoints) },
  stdio: ['pipe', 'pipe', 'inherit'],
});
const replies: ((v: Record<string, unknown>) => void)[] = [];
createInterface({ input: child.stdout }).on('line', (line) => {
  replies.shift()?.(JSON.parse(line) as Record<string, unknown>);
});
function reply(): Promise<Record<string, unknown>> {
  return new Promise((resolve) => replies.push(resolve));
}
async function ask(cmd: object): Promise<Record<string, unknown>> {
  const r = reply();
  child.stdin.write(`${JSON.stringify(cmd)}\n`);
  return r;
}

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const mb = (b: unknown) => `${(Number(b) / 1024 / 1024).toFixed(0)} MB`;

const started = reply();
const ready = await started;
const address = `127.0.0.1:${String(ready['xdsPort'])}`;
const idle = await ask({ cmd: 'rss' });

const clients: EnvoyLikeClient[] = [];
const t0 = Date.now();
for (let k = 0; k < clientCount; k++) {
  const ns = `bench-${k % namespaces}`;
  const id = `sidecar~10.200.${k >> 8}.${k & 255}~client-${k}.${ns}~${ns}.svc.cluster.local`;
  const c = new EnvoyLikeClient(address, id, ['80', '9000']);
  clients.push(c);
  c.start();
}
const deadline = Date.now() + 120_000;
while (clients.some((c) => c.fullAt === undefined)) {
  if (Date.now() > deadline) throw new Error('clients did not get a full config within 120 s');
  await new Promise((r) => setTimeout(r, 20));
}
const full = clients.map((c) => (c.fullAt ?? 0) - t0).sort((a, b) => a - b);
await new Promise((r) => setTimeout(r, 500));
const loaded = await ask({ cmd: 'rss' });

const latencies: number[] = [];
const perRound: string[] = [];
for (let v = 1; v <= rounds; v++) {
  const svc = (v * 37) % mesh.services;
  const seen = clients.map((c) => c.waitFor(movedAddress(svc, mesh, v)));
  const moved = Number((await ask({ cmd: 'move', service: svc, version: v }))['moved']);
  const times = (await Promise.all(seen)).map((t) => t - moved).sort((a, b) => a - b);
  latencies.push(...times);
  perRound.push(`round ${v}: p50 ${pct(times, 50)} ms, max ${times[times.length - 1] ?? NaN} ms`);
  await new Promise((r) => setTimeout(r, 300));
}
const after = await ask({ cmd: 'rss' });
latencies.sort((a, b) => a - b);

const p99 = pct(latencies, 99);
const rss = Math.max(Number(loaded['rss']), Number(after['rss']));
const lines = [
  `bench/pilot: ${mesh.services} services x ${mesh.endpoints} endpoints, ${clientCount} ADS clients (raw streams, Envoy-like subscriptions), authPolicy PERMISSIVE, Pilot node flags: ${nodeFlags.join(' ') || '(none)'}`,
  `first full push (CDS+EDS+LDS+RDS) to all clients: ${full[full.length - 1] ?? NaN} ms (p50 ${pct(full, 50)} ms)`,
  `Pilot RSS: idle ${mb(idle['rss'])}, serving ${mb(loaded['rss'])}, after changes ${mb(after['rss'])}`,
  ...(
    [
      ['idle', idle],
      ['serving', loaded],
      ['after changes', after],
    ] as const
  ).map(
    ([n, m]) =>
      `  ${n}: V8 heap used ${mb(m['heap'])} of ${mb(m['heapTotal'])}, external ${mb(m['external'])}`,
  ),
  `one endpoint change until each client holds it, ${rounds} rounds x ${clientCount} clients: p50 ${pct(latencies, 50)} ms, p99 ${p99} ms, max ${latencies[latencies.length - 1] ?? NaN} ms (debounce 100 ms included)`,
  ...perRound.map((l) => `  ${l}`),
  `targets: p99 <= 1000 ms ${p99 <= 1000 ? 'met' : 'MISSED'}; RSS <= 400 MB ${rss <= 400 * 1024 * 1024 ? 'met' : 'MISSED'}`,
];
process.stdout.write(`${lines.join('\n')}\n`);

for (const c of clients) c.close();
child.stdin.write(`${JSON.stringify({ cmd: 'exit' })}\n`);
await new Promise((r) => setTimeout(r, 200));
child.kill();
process.exit(0);

/**
 * bench/registries (issue 15): Pilot (alone in a child process) reading a real Consul 1.14 with
 * 1,000 services x 5 instances (tags `version|v1`/`version|v2`, a passing check each), serving 100
 * ADS clients that subscribe like Envoy (bench/pilot's EnvoyLikeClient); then the same counts in
 * Kubernetes: 1,000 Services x 5 endpoints (EndpointSlices) in a real kube-apiserver, read by the
 * Kubernetes registry. For each registry:
 * - the time from Pilot's start until every client holds every service (its cluster, and a load
 *   assignment with all its endpoints);
 * - after one change in the registry, the time until each client holds it: p50/p99 over clients
 *   and rounds. Consul: an instance registered, then deregistered, alternately; Kubernetes: one
 *   EndpointSlice replaced with an address more, then without it. The clock starts just before
 *   the write request (so the registry's own write is included) and stops when a client's load
 *   assignment has (or no longer has) the address; Pilot's 100 ms debounce is included;
 * - Pilot's RSS and V8 heap used after a GC.
 * Goal: a Consul change reaches every client in p99 <= 1 s (Istio 0.2 polled Consul every 2 s).
 *
 *   npm run bench:registries [-- --services 1000 --instances 5 --clients 100 --rounds 10]
 *                            [--only consul|kubernetes] [--consul-max-conns N]
 *
 * Consul, kube-apiserver and etcd come from .cache/bin (scripts/build-binaries.sh); the bench never
 * builds them. Everything it starts is stopped on exit, on error and on Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { IstioLiteError } from '../../lib/errors.ts';
import { cleanup, installExitHandlers, interrupted, onCleanup } from '../cleanup.ts';
import { EnvoyLikeClient } from '../pilot/envoy-like-client.ts';
import { Holdings } from './holdings.ts';
import { benchNamespace, serviceName } from './kube.ts';
import { PilotChild } from './pilot-process.ts';
import {
  changed,
  consulSide,
  kubeSide,
  port,
  type Kind,
  type MeshShape,
  type Side,
} from './sides.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '5' },
    clients: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '10' },
    only: { type: 'string' },
    'consul-max-conns': { type: 'string' },
    'pilot-node-flags': { type: 'string', default: '' },
  },
});

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: a positive integer, not "${v}"`);
  return n;
}

const services = positive('services', values.services);
const instances = positive('instances', values.instances);
const clientCount = positive('clients', values.clients);
const rounds = positive('rounds', values.rounds);
/** Consul's `limits.http_max_conns_per_client`; absent: Consul's default (200). */
const consulMaxConns =
  values['consul-max-conns'] === undefined
    ? undefined
    : positive('consul-max-conns', values['consul-max-conns']);
const nodeFlags = values['pilot-node-flags'].split(' ').filter((f) => f !== '');
const only = values.only;
if (only !== undefined && only !== 'consul' && only !== 'kubernetes') {
  throw new Error(`--only: consul or kubernetes, not "${only}"`);
}
const kinds: Kind[] = only === undefined ? ['consul', 'kubernetes'] : [only];

const changeTimeoutMs = 30_000;
const shape: MeshShape = { services, instances, consulMaxConns };

const loadavg = (): string =>
  readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const log = (line: string): void => {
  process.stderr.write(`[bench:registries] ${line}\n`);
};

// --- Stopping everything, whatever happens --------------------------------------------------

installExitHandlers(log);

// --- One registry, end to end -------------------------------------------------------------------

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface Memory {
  readonly rss: number;
  readonly heap: number;
}

interface Figures {
  readonly label: string;
  readonly serverMs: number;
  readonly fillMs: number;
  readonly readyMs: number;
  readonly fullMs: number;
  readonly fullP50Ms: number;
  readonly changeP50: number;
  readonly changeP99: number;
  readonly changeMax: number;
  readonly missed: number;
  readonly writeP50: number;
  readonly registryP50: number;
  readonly serving: Memory;
  readonly after: Memory;
  readonly perRound: readonly string[];
  readonly load: string;
}

const memory = (m: Record<string, unknown>): Memory => ({
  rss: Number(m['rss']),
  heap: Number(m['heap']),
});

async function measure(side: Side): Promise<Figures> {
  const load0 = loadavg();
  log(`${side.label}: starting the server (load ${load0})`);
  const s0 = Date.now();
  await side.start();
  const serverMs = Date.now() - s0;
  log(`${side.label}: filling ${String(services)} services x ${String(instances)}`);
  const f0 = Date.now();
  const env = await side.fill();
  const fillMs = Date.now() - f0;
  log(`${side.label}: filled in ${String(fillMs)} ms; starting Pilot`);

  const child = new PilotChild(env, nodeFlags);
  onCleanup(() => child.stop());
  const ready = await child.next();
  const startedAt = Number(ready['startedAt']);
  const address = `127.0.0.1:${String(ready['xdsPort'])}`;
  const expected = Array.from({ length: services }, (_, i) => side.clusterOf(i));
  const clients: EnvoyLikeClient[] = [];
  const holdings: Holdings[] = [];
  onCleanup(() => {
    for (const c of clients) c.close();
    return Promise.resolve();
  });
  for (let k = 0; k < clientCount; k++) {
    const id = `sidecar~10.200.${String(k >> 8)}.${String(k & 255)}~client-${String(k)}.${benchNamespace}~${benchNamespace}.svc.cluster.local`;
    const c = new EnvoyLikeClient(address, { id, metadata: {} }, [String(port)]);
    clients.push(c);
    holdings.push(new Holdings(c, expected, instances));
    c.start();
  }
  const deadline = Date.now() + 300_000;
  let lastNote = Date.now();
  while (holdings.some((h) => h.completeAt === undefined)) {
    if (Date.now() > deadline) {
      const h = holdings.find((x) => x.completeAt === undefined);
      const r = await child.ask('readyAt');
      throw new Error(
        `${side.label}: clients did not hold every service within 300 s (one holds ${JSON.stringify(h?.progress())}; Pilot: ${JSON.stringify(r)})`,
      );
    }
    if (Date.now() - lastNote > 15_000) {
      lastNote = Date.now();
      const done = holdings.filter((h) => h.completeAt !== undefined).length;
      log(`${side.label}: ${String(done)}/${String(clientCount)} clients hold everything so far`);
    }
    await sleep(10);
  }
  const full = holdings.map((h) => (h.completeAt ?? 0) - startedAt).sort((a, b) => a - b);
  const readyAt = Number((await child.ask('readyAt'))['readyAt']);
  await sleep(500);
  const serving = memory(await child.ask('rss'));

  const latencies: number[] = [];
  const writes: number[] = [];
  /** Write → Pilot's registry signals a change (the rest is debounce, build, push). */
  const registryLatencies: number[] = [];
  const perRound: string[] = [];
  let missed = 0;
  for (let r = 1; r <= rounds; r++) {
    const c = changed(shape, r);
    await side.prepare(r);
    await child.ask('changes'); // forget earlier ones
    const cluster = side.clusterOf(c.service);
    const giveUp = new AbortController();
    const timeout = sleep(changeTimeoutMs, Infinity, { signal: giveUp.signal }).catch(
      () => Infinity,
    );
    const seen = holdings.map((h) => Promise.race([h.waitFor(cluster, c.address, c.add), timeout]));
    const at = Date.now();
    await side.change(r);
    writes.push(Date.now() - at);
    const times = (await Promise.all(seen)).map((t) => t - at).sort((a, b) => a - b);
    giveUp.abort();
    const got = (await child.ask('changes'))['changes'];
    const signalled: unknown[] = Array.isArray(got) ? got : [];
    const first = Number(signalled[0]) - at;
    registryLatencies.push(first);
    missed += times.filter((t) => t === Infinity).length;
    latencies.push(...times);
    perRound.push(
      `round ${String(r)} (${c.add ? 'add' : 'remove'} ${c.address} of ${serviceName(c.service)}): write ${String(writes[writes.length - 1])} ms, registry ${String(first)} ms (${String(signalled.length)} signals), clients p50 ${String(pct(times, 50))} ms, max ${String(times[times.length - 1])} ms`,
    );
    await sleep(300);
  }
  latencies.sort((a, b) => a - b);
  writes.sort((a, b) => a - b);
  registryLatencies.sort((a, b) => a - b);
  const after = memory(await child.ask('rss'));
  const load1 = loadavg();

  for (const c of clients.splice(0)) c.close();
  await child.stop();
  await side.stop();
  return {
    label: side.label,
    serverMs,
    fillMs,
    readyMs: readyAt - startedAt,
    fullMs: full[full.length - 1] ?? NaN,
    fullP50Ms: pct(full, 50),
    changeP50: pct(latencies, 50),
    changeP99: pct(latencies, 99),
    changeMax: latencies[latencies.length - 1] ?? NaN,
    missed,
    writeP50: pct(writes, 50),
    registryP50: pct(registryLatencies, 50),
    serving,
    after,
    perRound,
    load: `${load0} → ${load1}`,
  };
}

// --- Report -------------------------------------------------------------------------------------

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const ms = (v: number) => (Number.isFinite(v) ? `${String(Math.round(v))} ms` : 'timeout');

function table(results: readonly Figures[]): string[] {
  const rows: [string, (f: Figures) => number, (v: number) => string][] = [
    ['server started (bench setup)', (f) => f.serverMs, ms],
    ['registry filled (bench writes, parallel)', (f) => f.fillMs, ms],
    ['Pilot start → ready (synced, 1st snapshot)', (f) => f.readyMs, ms],
    ['Pilot start → every client holds all (max)', (f) => f.fullMs, ms],
    ['Pilot start → a client holds all (p50)', (f) => f.fullP50Ms, ms],
    ['one change → each client: p50', (f) => f.changeP50, ms],
    ['one change → each client: p99', (f) => f.changeP99, ms],
    ['one change → each client: max', (f) => f.changeMax, ms],
    ['  the registry write (p50)', (f) => f.writeP50, ms],
    ["  write → Pilot's registry has it (p50)", (f) => f.registryP50, ms],
    ['Pilot RSS serving', (f) => f.serving.rss, mb],
    ['Pilot RSS after the changes', (f) => f.after.rss, mb],
    ['V8 heap used after GC, serving', (f) => f.serving.heap, mb],
    ['V8 heap used after GC, after changes', (f) => f.after.heap, mb],
  ];
  const w = 44;
  const col = 14;
  const consul = results.find((r) => r.label === 'Consul');
  const kube = results.find((r) => r.label === 'Kubernetes');
  const head = [
    'figure'.padEnd(w),
    ...results.map((r) => r.label.padStart(col)),
    ...(consul && kube ? ['Consul/Kubernetes'.padStart(19)] : []),
  ].join('');
  const lines = [head, '-'.repeat(head.length)];
  for (const [name, get, fmt] of rows) {
    const cells = results.map((r) => fmt(get(r)).padStart(col));
    const ratio = consul && kube ? [(get(consul) / get(kube)).toFixed(2).padStart(19)] : [];
    lines.push([name.padEnd(w), ...cells, ...ratio].join(''));
  }
  return lines;
}

const results: Figures[] = [];
try {
  for (const kind of kinds) {
    results.push(await measure(kind === 'consul' ? consulSide(shape) : kubeSide(shape)));
  }
  const consul = results.find((r) => r.label === 'Consul');
  const out = [
    `bench/registries: ${String(services)} services x ${String(instances)} instances, ${String(clientCount)} ADS clients (Envoy-like, ACKing), ${String(rounds)} rounds of one change; Pilot debounce 100 ms (max 1 s), authPolicy PERMISSIVE, no traffic config${nodeFlags.length > 0 ? `, Pilot node flags ${nodeFlags.join(' ')}` : ''}`,
    `Consul 1.14.11 -dev (http_max_conns_per_client ${consulMaxConns === undefined ? '200, its default' : String(consulMaxConns)}); Kubernetes: kube-apiserver + etcd, no controllers`,
    ...table(results),
    ...results.flatMap((r) => [
      `${r.label}: load average ${r.load}; ${String(r.missed)} of ${String(rounds * clientCount)} change arrivals missed (> ${String(changeTimeoutMs / 1000)} s)`,
      ...r.perRound.map((l) => `  ${l}`),
    ]),
    ...(consul
      ? [
          `goal: a Consul change reaches every client in p99 <= 1000 ms (Istio 0.2 polled every 2 s): ${consul.changeP99 <= 1000 ? 'met' : 'MISSED'} (p99 ${ms(consul.changeP99)})`,
        ]
      : []),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} catch (e) {
  // Interrupted: what failed is what the signal handler is stopping; it exits.
  if (interrupted.signal === undefined) {
    // A missing binary and the like are IstioLiteErrors whose message says it all.
    const why = e instanceof IstioLiteError ? e.message : e instanceof Error ? e.stack : undefined;
    log(`failed: ${why ?? String(e)}`);
    process.exitCode = 1;
  }
} finally {
  await cleanup(log);
}
if (interrupted.signal === undefined) process.exit();

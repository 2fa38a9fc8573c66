/**
 * One server measured end to end on the bench's API server (already filled):
 *
 * 1. started as its own process; ready = its /ready answers 200 (from just before the spawn);
 * 2. idle: resident memory 1 s after ready, informers synced, no client connected;
 * 3. `clients` Envoy-like ADS clients connect at once; full config = a client holds CDS, EDS, LDS
 *    and RDS, every bench service's cluster and each load assignment with all its endpoints;
 *    the server's CPU seconds from the first connection until the last client holds it all;
 * 4. steady state: `steadyMs` with every client connected and nothing changing (CPU %, RSS);
 * 5. `rounds` changes of one EndpointSlice (a moved endpoint): each from just before the write
 *    until each client's load assignment has the new address (p50, p99, max over clients and
 *    rounds; the API server, the watch and the 100 ms debounce included), 300 ms apart; the
 *    server's CPU seconds over the rounds;
 * 6. peak resident memory (VmHWM) over the whole run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Holdings } from '../registries/holdings.ts';
import { leftovers, onCleanup } from '../cleanup.ts';
import type { BenchCluster } from './cluster.ts';
import { EnvoyLikeClient, sidecarNode } from './envoy-like-client.ts';
import { clusterOf, movedAddress, namespaceOf, routeNames, type BenchMesh } from './mesh.ts';
import { CpuClock, memory, type Memory } from './proc-stats.ts';
import { startServer, type ServerSpec } from './servers.ts';

export interface SideFigures {
  readonly label: string;
  readonly readyMs: number;
  readonly idle: Memory;
  readonly fullMs: number;
  readonly fullP50Ms: number;
  readonly fullCpuS: number;
  readonly serving: Memory;
  readonly steadyCpuPct: number;
  readonly steady: Memory;
  readonly changeP50: number;
  readonly changeP99: number;
  readonly changeMax: number;
  readonly changesCpuS: number;
  readonly missed: number;
  readonly after: Memory;
  readonly peak: number;
  readonly perRound: readonly string[];
}

export interface MeasureOptions {
  readonly mesh: BenchMesh;
  readonly clients: number;
  readonly rounds: number;
  /** The version of the first change (each change moves an endpoint to a fresh address). */
  readonly firstVersion: number;
  readonly steadyMs: number;
  readonly dir: string;
  readonly log: (line: string) => void;
}

const changeTimeoutMs = 30_000;
const fullTimeoutMs = 300_000;

export function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export async function measureSide(
  spec: ServerSpec,
  cluster: BenchCluster,
  o: MeasureOptions,
): Promise<SideFigures> {
  const server = await startServer(spec, cluster.kubeconfig, o.dir);
  leftovers.pids.add(server.pid);
  onCleanup(() => server.stop());
  const clients: EnvoyLikeClient[] = [];
  onCleanup(() => {
    for (const c of clients) c.close();
    return Promise.resolve();
  });
  try {
    const readyAt = await server.ready(180_000);
    o.log(`${spec.label}: ready ${String(readyAt - server.startedAt)} ms after start`);
    await sleep(1000);
    const idle = memory(server.pid);

    const cpu = new CpuClock(server.pid);
    cpu.start();
    const expected = Array.from({ length: o.mesh.services }, (_, i) => clusterOf(i));
    const holdings: Holdings[] = [];
    const t0 = Date.now();
    for (let k = 0; k < o.clients; k++) {
      const c = new EnvoyLikeClient(server.xdsAddress, sidecarNode(k, namespaceOf(k)), routeNames);
      clients.push(c);
      holdings.push(new Holdings(c, expected, o.mesh.endpoints));
      c.start();
    }
    const done = (k: number): number | undefined => {
      const a = clients[k]?.fullAt;
      const b = holdings[k]?.completeAt;
      return a === undefined || b === undefined ? undefined : Math.max(a, b);
    };
    const deadline = t0 + fullTimeoutMs;
    while (clients.some((_, k) => done(k) === undefined)) {
      if (Date.now() > deadline) {
        const k = clients.findIndex((_, i) => done(i) === undefined);
        throw new Error(
          `${spec.label}: clients did not hold the full config within ${String(fullTimeoutMs / 1000)} s (client ${String(k)} holds ${JSON.stringify(holdings[k]?.progress())}); see ${server.logFile}`,
        );
      }
      await sleep(10);
    }
    const fullCpuS = cpu.seconds();
    const full = clients.map((_, k) => (done(k) ?? 0) - t0).sort((a, b) => a - b);
    o.log(
      `${spec.label}: ${String(o.clients)} clients hold the full config after ${String(full[full.length - 1])} ms`,
    );
    await sleep(500);
    const serving = memory(server.pid);

    cpu.start();
    await sleep(o.steadyMs);
    const steadyCpuPct = (100 * cpu.seconds()) / (o.steadyMs / 1000);
    const steady = memory(server.pid);

    const latencies: number[] = [];
    const perRound: string[] = [];
    let missed = 0;
    cpu.start();
    for (let r = 0; r < o.rounds; r++) {
      const version = o.firstVersion + r;
      const svc = (version * 37) % o.mesh.services;
      const address = movedAddress(svc, o.mesh, version);
      const giveUp = new AbortController();
      const timeout = sleep(changeTimeoutMs, Infinity, { signal: giveUp.signal }).catch(
        () => Infinity,
      );
      const seen = holdings.map((h) =>
        Promise.race([h.waitFor(clusterOf(svc), address, true), timeout]),
      );
      const at = Date.now();
      await cluster.move(svc, o.mesh, version);
      const times = (await Promise.all(seen)).map((t) => t - at).sort((a, b) => a - b);
      giveUp.abort();
      missed += times.filter((t) => t === Infinity).length;
      latencies.push(...times);
      perRound.push(
        `round ${String(r + 1)} (svc-${String(svc)}): p50 ${String(pct(times, 50))} ms, max ${String(times[times.length - 1])} ms`,
      );
      await sleep(300);
    }
    const changesCpuS = cpu.seconds();
    const after = memory(server.pid);
    latencies.sort((a, b) => a - b);
    return {
      label: spec.label,
      readyMs: readyAt - server.startedAt,
      idle,
      fullMs: full[full.length - 1] ?? NaN,
      fullP50Ms: pct(full, 50),
      fullCpuS,
      serving,
      steadyCpuPct,
      steady,
      changeP50: pct(latencies, 50),
      changeP99: pct(latencies, 99),
      changeMax: latencies[latencies.length - 1] ?? NaN,
      changesCpuS,
      missed,
      after,
      peak: after.peak,
      perRound,
    };
  } finally {
    for (const c of clients.splice(0)) c.close();
    await server.stop();
    leftovers.pids.delete(server.pid);
  }
}

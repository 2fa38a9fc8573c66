/**
 * How much one core of a gRPC server serves, as bench/agent and bench/mixer measure it (issue 19):
 * the load is e2e/grpc-go-client with `-raw` (built into .cache/bin when missing), pinned to the
 * other core with GOMAXPROCS=1. `-raw` writes each call as pre-encoded HTTP/2 frames on one
 * connection, as h2load does, and reads the answers' frames: about 1 µs of the client's CPU a
 * call. Through grpc-go's own client (the other side of the wire-compatibility tests) a call cost
 * the client as much as the fastest servers it measured: it topped out at 130,000 calls a second
 * closed loop against a bare responder that answers 184,000 to `-raw`, and its open loop fell
 * behind at 13,000 of 30,000 a second, its own queueing then being the p99 measured. (A Node
 * client would be slower still: its per-call cost is close to the servers'.)
 *
 * - `capacity`: closed loop, CONCURRENCY calls in flight: the most calls a second the server
 *   answers; with its CPU µs per call (from /proc) and its resident memory under that load (the
 *   median of samples taken while it runs) next to before it.
 * - `latencyCurve`: open loop (calls sent on schedule, not when the previous one answers) at
 *   fractions of a measured maximum: p50 and p99 where queueing is not yet the latency, each
 *   after a second of the same load on its connection that is not counted.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { ensureBinary } from '../lib/local-cluster/binaries.ts';
import { cpuMicros, hasTaskset, stolenMs } from './pinned-process.ts';

export interface ServerUnderTest {
  /** `unix:/path` or host:port. */
  readonly target: string;
  readonly pid: number;
}

export interface LoadSpec {
  /** `/package.Service/Method`, a unary method. */
  readonly method: string;
  /** Encoded request messages, cycled. */
  readonly requests: readonly Uint8Array[];
  readonly seconds: number;
  readonly concurrency: number;
  /** The core the load runs on. */
  readonly core: number;
}

interface GoLoad {
  readonly calls: number;
  /** Calls of the warm-up on the same connection (-warmup), answered and not counted. */
  readonly warmupCalls?: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly firstError?: string;
}

export interface Measured extends GoLoad {
  /** The server's CPU time per call during the run, µs. */
  readonly cpuMicrosPerCall: number;
  /** The server's resident memory while loaded (median of samples), MB. */
  readonly rssMb: number;
  /** CPU time the host took from this machine's cores during the run, ms (NaN without /proc). */
  readonly stolenMs: number;
}

export interface Capacity extends Measured {
  /** Before the load (after start-up and a one-second warm-up), MB. */
  readonly idleRssMb: number;
}

export interface CurvePoint extends Measured {
  readonly fraction: number;
  readonly rate: number;
}

/** A process's resident memory now, MB (NaN without /proc). */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

async function goLoad(target: string, spec: LoadSpec, extra: readonly string[]): Promise<GoLoad> {
  const binary = await ensureBinary('grpc-go-client');
  const args = [
    '-load',
    '-raw',
    '-target',
    target,
    '-method',
    spec.method,
    '-warmup',
    '0',
    ...extra,
  ];
  const argv = hasTaskset
    ? ['taskset', '-c', String(spec.core), binary, ...args]
    : [binary, ...args];
  const [cmd = binary, ...rest] = argv;
  const child = spawn(cmd, rest, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, GOMAXPROCS: '1' },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.end(spec.requests.map((r) => `${Buffer.from(r).toString('hex')}\n`).join(''));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`grpc-go-client exited ${String(code)}: ${out}`);
  return JSON.parse(out) as GoLoad;
}

async function measured(
  server: ServerUnderTest,
  spec: LoadSpec,
  extra: readonly string[],
): Promise<Measured> {
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(rssMb(server.pid)), 250);
  const cpu0 = cpuMicros(server.pid);
  const stolen0 = stolenMs();
  try {
    const r = await goLoad(server.target, spec, [
      ...extra,
      '-duration',
      `${String(spec.seconds)}s`,
    ]);
    return {
      ...r,
      // The server's CPU covers the warm-up's calls too.
      cpuMicrosPerCall: (cpuMicros(server.pid) - cpu0) / (r.calls + (r.warmupCalls ?? 0)),
      rssMb: median(samples),
      stolenMs: stolenMs() - stolen0,
    };
  } finally {
    clearInterval(timer);
  }
}

/** A one-second warm-up, then the closed-loop maximum. */
export async function capacity(server: ServerUnderTest, spec: LoadSpec): Promise<Capacity> {
  await goLoad(server.target, spec, ['-duration', '1s', '-concurrency', String(spec.concurrency)]);
  const idleRssMb = rssMb(server.pid);
  const r = await measured(server, spec, ['-concurrency', String(spec.concurrency)]);
  return { ...r, idleRssMb };
}

/**
 * Each point's first second: the same load on the same connection, not counted. Each point is a
 * new connection, and a server's first moments on one (its JIT meeting new objects: a wave of
 * compiles and deoptimisations) are not what a sidecar's long-lived Envoy connection sees.
 */
const curveWarmup = '1s';

/** Open-loop runs at each fraction of `max` calls a second. */
export async function latencyCurve(
  server: ServerUnderTest,
  spec: LoadSpec,
  max: number,
  fractions: readonly number[] = [0.25, 0.5, 0.75],
): Promise<CurvePoint[]> {
  const out: CurvePoint[] = [];
  for (const fraction of fractions) {
    const rate = Math.round(max * fraction);
    out.push({
      fraction,
      rate,
      ...(await measured(server, spec, ['-rate', String(rate), '-warmup', curveWarmup])),
    });
  }
  return out;
}

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '?');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '?');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '?');

/** `, host stole N ms` when the host took CPU from this machine during the run. */
const stolen = (m: Measured): string =>
  Number.isFinite(m.stolenMs) && m.stolenMs > 0 ? `, host stole ${f0(m.stolenMs)} ms` : '';

/** `name  N calls/s  (CPU µs per call, RSS loaded / idle)`. */
export function capacityLine(name: string, c: Capacity, unit = 'calls'): string {
  return `${name.padEnd(36)} ${f0(c.perSecond).padStart(7)} ${unit}/s max  server ${f1(c.cpuMicrosPerCall)} µs CPU/call, RSS ${f1(c.rssMb)} MB loaded (${f1(c.idleRssMb)} idle)  errors ${String(c.errors)}${c.firstError === undefined ? '' : ` (${c.firstError})`}${stolen(c)}`;
}

/**
 * One line per point: `at 25% (N/s): p50 … p99 …`. A point whose calls completed at under 90% of
 * the rate asked for says so: the load (or the server) fell behind and its latencies are queueing.
 * A point the host took CPU from says how much (with medians of rounds: the median's).
 */
export function curveLines(name: string, points: readonly CurvePoint[]): string[] {
  return points.map(
    (p) =>
      `${name.padEnd(36)} at ${f0(p.fraction * 100)}% (${f0(p.perSecond)}/s${p.perSecond < 0.9 * p.rate ? ` of ${f0(p.rate)} asked: fell behind` : ''}): p50 ${f2(p.p50)} ms  p99 ${f2(p.p99)} ms  ${f1(p.cpuMicrosPerCall)} µs CPU/call  RSS ${f1(p.rssMb)} MB  errors ${String(p.errors)}${p.firstError === undefined ? '' : ` (${p.firstError})`}${stolen(p)}`,
  );
}

/** Field by field medians of several runs' results (errors summed). */
export function medianOf<T extends Measured>(runs: readonly T[]): T {
  const first = runs[0];
  if (first === undefined) throw new Error('no runs');
  const out: Record<string, unknown> = { ...(first as unknown as Record<string, unknown>) };
  for (const [k, v] of Object.entries(first)) {
    if (typeof v !== 'number') continue;
    const values = runs.map((r) => (r as unknown as Record<string, number>)[k] ?? NaN);
    out[k] = k === 'errors' ? values.reduce((a, b) => a + b, 0) : median(values);
  }
  return out as T;
}

/** Point by point medians of several runs' curves. */
export function medianCurve(runs: readonly (readonly CurvePoint[])[]): CurvePoint[] {
  return (runs[0] ?? []).map((_, i) =>
    medianOf(runs.map((r) => r[i]).filter((p): p is CurvePoint => p !== undefined)),
  );
}

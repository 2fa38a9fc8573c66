/**
 * bench/agent's side-by-side sections (gateway next to sidecar, tracing on next to off): load runs
 * alternating between two agents, each with the agent's CPU time per check or log entry; the
 * median run by CPU (steadier than throughput on a shared machine) and by throughput.
 */
import { cpuMicros } from '../pinned-process.ts';

export interface PairRun {
  readonly perSecond: number;
  readonly p99: number;
  readonly errors: number;
  /** The agent's CPU time per check or log entry, µs. */
  readonly cpuMicrosPerUnit: number;
}

/** The median run of `runs` by `by`. */
export function medianRun(runs: readonly PairRun[], by: (r: PairRun) => number): PairRun {
  const list = [...runs].sort((a, b) => by(a) - by(b));
  const m = list[Math.floor(list.length / 2)];
  if (!m) throw new Error('no run');
  return m;
}

/** The median CPU per unit of `runs`, µs. */
export function medianCpu(runs: readonly PairRun[]): number {
  return medianRun(runs, (r) => r.cpuMicrosPerUnit).cpuMicrosPerUnit;
}

/** `name  CPU µs/unit  N units/s  p99  errors  (runs: …)`. */
export function pairedLine(
  name: string,
  unit: 'check' | 'entry',
  runs: readonly PairRun[],
): string {
  const units = unit === 'check' ? 'checks' : 'entries';
  const r = medianRun(runs, (x) => x.perSecond);
  const all = runs.map((x) => x.perSecond.toFixed(0)).join(', ');
  return `${name.padEnd(36)} ${medianCpu(runs).toFixed(1).padStart(7)} µs CPU/${unit}  ${r.perSecond.toFixed(0).padStart(6)} ${units}/s  p99 ${r.p99.toFixed(1)} ms  errors ${String(r.errors)}  (runs: ${all}/s)`;
}

/**
 * One load run against the agent `pid`, with the agent's CPU per unit over it. The load counts a
 * warm-up second it does not record (`seconds` are the recorded ones): CPU per unit over both.
 */
export async function runWithCpu<R extends { readonly checks: number }>(
  pid: number | undefined,
  seconds: number,
  run: () => Promise<R>,
): Promise<R & { cpuMicrosPerUnit: number }> {
  const cpu0 = cpuMicros(pid);
  const result = await run();
  const units = result.checks * (1 + 1 / seconds);
  return { ...result, cpuMicrosPerUnit: (cpuMicros(pid) - cpu0) / units };
}

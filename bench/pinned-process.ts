/**
 * What every bench/ runner does with its processes: start Node on one core (taskset, when it
 * exists, so a server and its load generator do not share a core), read the lines a process prints
 * (each bench child prints its address or its result as a JSON line), read its CPU time, stop it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * A process's CPU time so far in µs (user + system, all threads), or NaN without /proc. On a shared
 * machine throughput moves with the neighbours' load, CPU time per request much less.
 */
export function cpuMicros(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1e6;
  } catch {
    return NaN;
  }
}

/** The `steal` ticks of /proc/stat's `cpu` line (all cores), or NaN when the text has none. */
export function stealTicksOf(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  // cpu user nice system idle iowait irq softirq steal ...
  const steal = line?.trim().split(/\s+/)[8];
  return steal === undefined ? NaN : Number(steal);
}

/**
 * CPU time the host took from this virtual machine's cores so far (its hypervisor ran something
 * else while they had work), in ms; NaN without /proc. The difference over a run says whether the
 * run had the machine it thinks it had: on a shared host it decides more than the code does.
 */
export function stolenMs(): number {
  try {
    return (stealTicksOf(readFileSync('/proc/stat', 'utf8')) / clockTicks) * 1000;
  } catch {
    return NaN;
  }
}

export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Moves this process (every thread) to `core`, the load generator's, when taskset exists. A bench
 * runner is idle while it measures, but its wake-ups (a child's output, a timer, V8's workers)
 * otherwise land on the server's core and take it from the server mid-run.
 */
export function pinThisProcess(core: number): void {
  if (!hasTaskset) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], {
    stdio: 'ignore',
  });
}

const hasChrt = (() => {
  try {
    execFileSync('chrt', ['-i', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

/**
 * A `wrap` that runs a helper process in the idle scheduling class (SCHED_IDLE, `chrt -i 0`), or
 * undefined without chrt: it gets a core only when nothing else there wants it. For a helper
 * that shares the load generator's core (bench/agent's second Mixer), whose slices would
 * otherwise hold back the load's sends and reads by milliseconds.
 */
export const idleClass: ((argv: readonly string[]) => string[]) | undefined = hasChrt
  ? (argv) => ['chrt', '-i', '0', ...argv]
  : undefined;

export interface PinnedOptions {
  /** Added to this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** The Node binary (default: the one running the bench). */
  readonly node?: string;
  /** Runs the command through this argv prefix (e.g. a cgroup wrapper). */
  readonly wrap?: (argv: readonly string[]) => string[];
}

/** `node ...args` on `core` (unpinned without taskset); stdout piped, stderr inherited. */
export function pinnedNode(core: number, args: readonly string[], o: PinnedOptions = {}) {
  const node = o.node ?? process.execPath;
  const pinned = hasTaskset ? ['taskset', '-c', String(core), node, ...args] : [node, ...args];
  const [cmd = node, ...argv] = o.wrap ? o.wrap(pinned) : pinned;
  return spawn(cmd, argv, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...o.env },
  });
}

/** The first `count` lines the process prints; fails if it exits before. */
export async function readLines(p: ChildProcess, count: number): Promise<string[]> {
  let out = '';
  const onData = (d: Buffer) => (out += d.toString());
  p.stdout?.on('data', onData);
  const exited = once(p, 'exit');
  try {
    while (out.split('\n').length <= count) {
      await Promise.race([
        once(p.stdout ?? p, 'data'),
        exited.then(() => {
          throw new Error(`benchmark process exited early; output: ${out}`);
        }),
      ]);
    }
  } finally {
    p.stdout?.off('data', onData);
  }
  return out.split('\n').slice(0, count);
}

export async function firstLine(p: ChildProcess): Promise<string> {
  return (await readLines(p, 1))[0] ?? '';
}

/** Sends SIGTERM and waits for the process to exit (at once when it already has). */
export async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = once(p, 'exit');
  p.kill('SIGTERM');
  await exited;
}

/**
 * Gives back the memory a server's start-up left behind. Listing a cluster and building the first
 * configuration allocate far more than a server keeps: V8 leaves the pages it grew into committed
 * until its memory reducer runs (seconds to minutes later, and only while the process is quiet),
 * so a freshly started Pilot sat on ~20 MB of garbage (bench/pilot: idle RSS 136 MB -> 114 MB).
 *
 * V8 has no API for this from JavaScript; `--expose-gc`, set at run time, puts `gc` into new
 * contexts, and its `last-resort` flavor is V8's memory-reducing full collection (several
 * mark-compacts, the young generation shrunk, free pages released).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'major'; flavor: 'last-resort'; execution: 'sync' }) => void;

let gc: Gc | undefined;

/** A full, memory-reducing collection now (tens of milliseconds on a heap of ~100 MB). */
export function releaseUnusedMemory(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    if (typeof fn !== 'function') throw new Error('V8 did not expose gc');
    gc = fn as Gc;
  }
  gc({ type: 'major', flavor: 'last-resort', execution: 'sync' });
}

/**
 * `--heap-growing-percent=<percent>` (the old generation may grow to 1 + percent/100 times what a
 * mark-compact left before the next one), or undefined when `node` was started with the flag.
 * V8's own factor follows how fast the process allocates and can fall to ~1.1 after a burst, so
 * a server that keeps promoting a little runs a mark-compact every second or two. V8 takes the
 * flag on the command line, not in NODE_OPTIONS; set at run time, it is read at every limit V8
 * sets (`applyHeapGrowth`).
 */
export function heapGrowthFlag(execArgv: readonly string[], percent: number): string | undefined {
  return execArgv.some((a) => a.startsWith('--heap-growing-percent'))
    ? undefined
    : `--heap-growing-percent=${String(percent)}`;
}

/** Sets the old generation's growth factor now, unless the command line set one. */
export function applyHeapGrowth(
  percent: number,
  execArgv: readonly string[] = process.execArgv,
): void {
  const flag = heapGrowthFlag(execArgv, percent);
  if (flag !== undefined) setFlagsFromString(flag);
}

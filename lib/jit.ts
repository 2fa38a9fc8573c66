/**
 * The highest tier V8's JIT compiles a server's hot functions to. V8 (Node 24: V8 13.6) runs
 * bytecode in Ignition, then compiles hot functions with Sparkplug, Maglev and last TurboFan.
 * `--no-turbofan` stops at Maglev. Node refuses V8's tiering flags in NODE_OPTIONS, so a command
 * sets it at run time before it serves (V8 reads it at every tiering decision; `--max-opt=2` set
 * the same way is read only at start-up and does nothing then), unless the command line already
 * chose (`node --max-opt=N`, `--turbofan` or `--no-turbofan`).
 *
 * Why the sidecar agent stops at Maglev: it runs on the core it shares with Envoy, and TurboFan
 * compiles on V8's worker threads. On one core a compile (and its deoptimisation and
 * recompilation when a rarely seen request takes another path) is milliseconds the event loop
 * waits for the core, and the ext_authz checks that arrive meanwhile wait with it. bench/agent
 * (docs/design/2026-12-03-per-request-tails.md) measured, paced load on 2 cores: p99 at 55,000
 * checks/s 1.00 ms (Maglev) against 1.87 ms (TurboFan), the bare responder's 0.84 ms; the maximum
 * 4-7% lower; RSS under load 25-40 MB lower.
 */
import { setFlagsFromString } from 'node:v8';

const tierFlag = /^--(?:max-opt(?:=|$)|(?:no-)?turbofan$)/;

/** `--no-turbofan`, or undefined when the command line already chose a tier. */
export function maglevCapFlag(execArgv: readonly string[]): string | undefined {
  return execArgv.some((a) => tierFlag.test(a)) ? undefined : '--no-turbofan';
}

/** Stops V8's JIT at Maglev for code not yet optimized (call before the hot code runs). */
export function capJitAtMaglev(execArgv: readonly string[] = process.execArgv): void {
  const flag = maglevCapFlag(execArgv);
  if (flag !== undefined) setFlagsFromString(flag);
}

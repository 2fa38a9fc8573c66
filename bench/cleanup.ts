/**
 * Stopping everything a bench started, whatever happens: `cleanups` run newest first (on
 * success, error or Ctrl-C, once); on process exit whatever is left of `leftovers` is killed
 * (SIGKILL) and removed.
 */
import { rmSync } from 'node:fs';

const cleanups: (() => Promise<void>)[] = [];
export const leftovers = { pids: new Set<number>(), dirs: new Set<string>() };

let cleaning: Promise<void> | undefined;
export const interrupted: { signal: 'SIGINT' | 'SIGTERM' | undefined } = { signal: undefined };

export function onCleanup(f: () => Promise<void>): void {
  cleanups.push(f);
}

/** Stops what was started, newest first; every caller waits for the same run. */
export function cleanup(log: (line: string) => void): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.splice(0).reverse()) {
      await c().catch((e: unknown) => {
        log(`cleanup: ${String(e)}`);
      });
    }
  })();
  return cleaning;
}

export function installExitHandlers(log: (line: string) => void): void {
  process.on('exit', () => {
    for (const pid of leftovers.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const d of leftovers.dirs) rmSync(d, { recursive: true, force: true });
  });
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(sig, () => {
      interrupted.signal = sig;
      log(`${sig}: stopping everything`);
      void cleanup(log).finally(() => process.exit(code));
    });
  }
}

/**
 * Polling for tests: `eventually` retries an assertion until it passes or the deadline passes
 * (then rethrows its last failure, so the message says what was still wrong).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function eventually<R>(
  check: () => R | Promise<R>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<R> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/**
 * `istio-lite agent wait`: the postStart hook of `holdApplicationUntilProxyStarts`. Polls the
 * readiness port's `/healthz/ready` until it answers 200 (resolves true) or the timeout passes
 * (resolves false), so the kubelet starts the application only once the proxy is ready.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../lib/errors.ts';

export interface WaitOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly periodMs: number;
  readonly requestTimeoutMs: number;
  /** Progress lines (stderr in the CLI). */
  readonly report?: (line: string) => void;
}

export async function waitUntilReady(o: WaitOptions): Promise<boolean> {
  const deadline = Date.now() + o.timeoutMs;
  let last: string;
  for (;;) {
    try {
      const r = await fetch(o.url, { signal: AbortSignal.timeout(o.requestTimeoutMs) });
      const body = await r.text();
      if (r.status === 200) return true;
      last = `${r.status}: ${body.trim()}`;
    } catch (e) {
      last = errorMessage(e);
    }
    if (Date.now() + o.periodMs > deadline) {
      o.report?.(`not ready after ${o.timeoutMs} ms: ${last}`);
      return false;
    }
    await sleep(o.periodMs);
  }
}

import assert from 'node:assert/strict';
import { Readiness } from './status/readiness.ts';
import { listenHttp, readinessHandler, type HttpListener } from './status/status-server.ts';
import { waitUntilReady } from './wait.ts';

describe('agent wait (holdApplicationUntilProxyStarts)', () => {
  let server: HttpListener;
  let why: string | undefined = 'no listeners yet';
  const readiness = new Readiness();
  readiness.add({ name: 'config', check: () => why });

  before(async () => {
    server = await listenHttp(readinessHandler(readiness), '127.0.0.1', 0);
  });
  after(async () => {
    await server.close();
  });

  const url = () => `http://127.0.0.1:${server.port}/healthz/ready`;

  it('returns true as soon as readiness turns 200', async () => {
    why = 'no listeners yet';
    setTimeout(() => {
      why = undefined;
    }, 300);
    const t0 = Date.now();
    assert.equal(
      await waitUntilReady({ url: url(), timeoutMs: 5000, periodMs: 50, requestTimeoutMs: 500 }),
      true,
    );
    assert.ok(Date.now() - t0 >= 250);
  });

  it('gives up after the timeout, saying why', async () => {
    why = 'no listeners yet';
    const lines: string[] = [];
    const ok = await waitUntilReady({
      url: url(),
      timeoutMs: 300,
      periodMs: 50,
      requestTimeoutMs: 200,
      report: (l) => lines.push(l),
    });
    assert.equal(ok, false);
    assert.match(
      lines.join(),
      /not ready after 300 ms: 503: not ready:\s+config: no listeners yet/,
    );
  });

  it('keeps trying while nothing listens yet', async () => {
    const lines: string[] = [];
    const ok = await waitUntilReady({
      url: 'http://127.0.0.1:1/healthz/ready',
      timeoutMs: 200,
      periodMs: 50,
      requestTimeoutMs: 100,
      report: (l) => lines.push(l),
    });
    assert.equal(ok, false);
    assert.match(lines.join(), /fetch failed|ECONNREFUSED/);
  });
});

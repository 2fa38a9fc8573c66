import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, Counter } from 'prom-client';
import { opsHandler, type ExtraPages } from './ops-server.ts';

describe('lib/ops-server: /healthz, /ready, /metrics and extra pages on plain node:http', () => {
  let server: Server;
  let base = '';
  let why: string | undefined = 'informers not synced';
  let notes: string[] = [];
  const registry = new Registry();
  new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);
  const extra: ExtraPages = (path, query) => {
    if (path === '/debug/echo') return { status: 200, body: { q: query.get('q') } };
    if (path === '/debug/boom') throw new Error('page failed');
    return undefined;
  };

  before(async () => {
    server = createServer(
      opsHandler(
        registry,
        () => why,
        () => notes,
        extra,
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  after(
    () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  );

  it('answers /healthz, and /ready with the reason while not ready, then with its notes', async () => {
    const h = await fetch(`${base}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(await h.text(), 'ok\n');
    assert.equal(h.headers.get('content-type'), 'text/plain; charset=utf-8');
    const notReady = await fetch(`${base}/ready`);
    assert.equal(notReady.status, 503);
    assert.equal(await notReady.text(), 'not ready: informers not synced\n');
    why = undefined;
    notes = ['registry Consul: down'];
    const ready = await fetch(`${base}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready\nregistry Consul: down\n');
  });

  it("answers /metrics in Prometheus' text format", async () => {
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), registry.contentType);
    assert.match(await r.text(), /^test_things_total 3$/m);
  });

  it('answers extra pages as JSON with their query, 404 for any other path', async () => {
    const r = await fetch(`${base}/debug/echo?q=a%20b`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await r.json(), { q: 'a b' });
    const missing = await fetch(`${base}/debug/none`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'no page /debug/none\n');
  });

  it('answers HEAD without a body, refuses other methods with 405 and Allow', async () => {
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '3');
    assert.equal(await head.text(), '');
    const post = await fetch(`${base}/ready`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('answers 500 for a page that throws, and keeps serving', async () => {
    const r = await fetch(`${base}/debug/boom`);
    assert.equal(r.status, 500);
    assert.match(await r.text(), /internal error: Error: page failed/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});

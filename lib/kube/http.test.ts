/**
 * KubeHttp's own behaviour against a loopback HTTP server that answers as the API server does
 * where a real one cannot be made to (a watch split mid-line, a silent watch); lists, errors and
 * informers against a real API server are in e2e/cluster/kube-http.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiErrorCode, describeApiError } from './api-errors.ts';
import { StaticCredentials } from './credentials.ts';
import { KubeApiError, KubeHttp } from './http.ts';

describe('KubeHttp', () => {
  let server: Server;
  let handler: (path: string, res: ServerResponse) => void;
  let http: KubeHttp;
  before(async () => {
    server = createServer((req, res) => {
      handler(req.url ?? '', res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    http = new KubeHttp(
      new StaticCredentials({ server: `http://127.0.0.1:${String(port)}`, token: 't' }),
      {
        watchIdleMs: 300,
      },
    );
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("throws a KubeApiError that api-errors reads as the API server's Status", async () => {
    handler = (_p, res) => {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'services "x" not found' }),
      );
    };
    await assert.rejects(http.json('GET', '/api/v1/namespaces/a/services/x'), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(apiErrorCode(e), 404);
      assert.equal(describeApiError(e), 'HTTP 404 NotFound: services "x" not found');
      return true;
    });
  });

  it('delivers watch events split across chunks, then the end of the stream', async () => {
    let query = '';
    handler = (p, res) => {
      query = p;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const a = JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } });
      const b = JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'a' } } });
      res.write(a.slice(0, 10));
      setTimeout(() => {
        res.write(`${a.slice(10)}\n${b}\nnot json\n`);
        res.end();
      }, 20);
    };
    const events: string[] = [];
    const ended = new Promise<unknown>((resolve) => {
      void http.watch(
        '/api/v1/pods',
        { resourceVersion: '7', allowWatchBookmarks: true },
        (type, obj) =>
          events.push(`${type} ${(obj as { metadata: { name: string } }).metadata.name}`),
        resolve,
      );
    });
    assert.equal(await ended, null);
    assert.deepEqual(events, ['ADDED a', 'DELETED a']);
    assert.equal(query, '/api/v1/pods?watch=true&resourceVersion=7&allowWatchBookmarks=true');
  });

  it('ends a refused watch before handing it back, and a silent one with a TimeoutError', async () => {
    handler = (_p, res) => {
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'Expired', message: 'too old' }));
    };
    let err: unknown;
    const c = await http.watch(
      '/api/v1/pods',
      {},
      () => undefined,
      (e) => (err = e),
    );
    assert.ok(c.signal.aborted, 'the controller of an ended watch is aborted');
    assert.equal(apiErrorCode(err), 410);

    handler = (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('\n'); // headers and nothing more
    };
    const silent = new Promise<unknown>((resolve) => {
      void http.watch('/api/v1/pods', {}, () => undefined, resolve);
    });
    const e = await silent;
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'TimeoutError');
  });
});

/**
 * The informer's paged list against list functions of our own making, where the API server cannot
 * be made to misbehave: a continue token answered twice is refused (and retried), not looped on.
 * Paging against a real API server is in e2e/cluster/kube-http.test.ts.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createInformer } from './informer.ts';
import type { WatchTransport } from './http.ts';

interface Cm {
  metadata: { name: string; namespace: string; resourceVersion: string };
}

const noWatch: WatchTransport = {
  watch: () => new Promise(() => undefined),
};

describe('informer: paged lists', () => {
  it('refuses a continue token the server answers twice, logs it and lists again', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _e, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    let calls = 0;
    const informer = createInformer<Cm>({
      watcher: noWatch,
      logger,
      path: '/api/v1/configmaps',
      pageSize: 1,
      backoff: { initialMs: 1, maxMs: 1 },
      list: () => {
        calls++;
        const name = `c${String(calls)}`;
        return Promise.resolve({
          items: [{ metadata: { name, namespace: 'a', resourceVersion: '1' } }],
          metadata: { resourceVersion: '7', continue: 'same' },
        });
      },
      name: 'looping',
    });
    informer.start();
    try {
      const deadline = Date.now() + 5000;
      while (calls < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.ok(calls >= 4, `${String(calls)} list calls`);
      assert.ok(
        lines.some((l) => l.includes('answered the same continue token again')),
        lines.join(''),
      );
    } finally {
      await informer.stop().catch(() => undefined);
    }
  });
});

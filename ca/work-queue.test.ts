import assert from 'node:assert/strict';
import { WorkQueue } from './work-queue.ts';

describe('work queue', () => {
  it('runs a key queued many times once, and again if queued while running', async () => {
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const q = new WorkQueue({
      process: async (k) => {
        runs.push(k);
        if (runs.length === 1) await new Promise<void>((r) => (release = r));
      },
    });
    q.add('a');
    q.add('a');
    await new Promise((r) => setImmediate(r));
    q.add('a'); // while running: once more afterwards
    q.add('a');
    release();
    await q.idle();
    await q.idle();
    assert.deepEqual(runs, ['a', 'a']);
    await q.stop();
  });

  it('holds work until resumed, and retries failures with backoff', async () => {
    let attempts = 0;
    const q = new WorkQueue({
      paused: true,
      baseDelayMs: 10,
      process: () => {
        attempts++;
        return attempts < 3 ? Promise.reject(new Error('boom')) : Promise.resolve();
      },
    });
    q.add('k');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(attempts, 0, 'paused');
    q.resume();
    const count = (): number => attempts;
    for (let i = 0; i < 50 && count() < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(attempts, 3);
    await q.stop();
  });
});

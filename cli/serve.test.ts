import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { serve } from './serve.ts';

const logger = pino({ level: 'silent' });

describe('serve', () => {
  it('closes a service that gets SIGTERM while it is still starting, once it has started', async () => {
    let closed = 0;
    const served = serve(logger, async () => {
      await sleep(100);
      return {
        close: () => {
          closed++;
          return Promise.resolve();
        },
      };
    });
    await sleep(20);
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(await served, 0);
    assert.equal(closed, 1);
    assert.equal(process.listenerCount('SIGTERM'), 0);
  });

  it('stops listening for signals when the start fails', async () => {
    await assert.rejects(
      serve(logger, () => Promise.reject(new Error('port 15010 is already in use'))),
      /already in use/,
    );
    assert.equal(process.listenerCount('SIGTERM'), 0);
    assert.equal(process.listenerCount('SIGINT'), 0);
  });
});

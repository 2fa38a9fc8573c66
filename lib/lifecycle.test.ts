import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from './log.ts';
import { Lifecycle } from './lifecycle.ts';

/** A logger whose JSON lines are kept, to read what the lifecycle logged. */
function capture(): { logger: Logger; lines: () => { msg: string; step?: string }[] } {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return {
    logger: createLogger('lifecycle-test', { level: 'info', destination }),
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { msg: string; step?: string }),
  };
}

describe('Lifecycle', () => {
  it('stops in reverse order of registration, each step once, whatever the number of close calls', async () => {
    const { logger } = capture();
    const stopped: string[] = [];
    const running = await Lifecycle.start(logger, (life) => {
      for (const name of ['informer', 'grpc', 'http']) {
        life.add(name, { name }, (r) => {
          stopped.push(r.name);
        });
      }
      life.onStop('flush', async () => {
        await new Promise((r) => setTimeout(r, 10));
        stopped.push('flush');
      });
      return Promise.resolve({ port: 1 });
    });
    assert.equal(running.port, 1);
    const first = running.close();
    const second = running.close();
    assert.equal(first, second, 'a second close() returns the same promise');
    await Promise.all([first, second]);
    await running.close();
    assert.deepEqual(stopped, ['flush', 'http', 'grpc', 'informer']);
  });

  it('bounds each step by the timeout, logs it, and goes on with the next', async () => {
    const { logger, lines } = capture();
    const stopped: string[] = [];
    const running = await Lifecycle.start(
      logger,
      (life) => {
        life.onStop('first', () => {
          stopped.push('first');
        });
        life.onStop('hangs', () => new Promise<void>(() => undefined));
        life.onStop('fails', () => {
          throw new Error('boom');
        });
        return Promise.resolve({});
      },
      50,
    );
    const t0 = Date.now();
    await running.close();
    const ms = Date.now() - t0;
    assert.deepEqual(stopped, ['first']);
    assert.ok(ms >= 45 && ms < 1000, `took ${String(ms)} ms`);
    const failed = lines().filter((l) => l.msg === 'stop step failed');
    assert.deepEqual(
      failed.map((l) => l.step),
      ['fails', 'hangs'],
    );
  });

  it('stops what was started when a later start step fails, then rethrows', async () => {
    const { logger } = capture();
    const stopped: string[] = [];
    const taken = new Error('cannot listen on 127.0.0.1:15010: address already in use');
    await assert.rejects(
      Lifecycle.start(logger, async (life) => {
        life.add('informer', 'informer', (r) => {
          stopped.push(r);
        });
        life.add('grpc', 'grpc', (r) => {
          stopped.push(r);
        });
        await Promise.resolve();
        throw taken;
      }),
      (e: unknown) => e === taken,
    );
    assert.deepEqual(stopped, ['grpc', 'informer']);
  });

  it('stops a resource added once close has begun, instead of leaking it', async () => {
    const { logger } = capture();
    const life = new Lifecycle(logger);
    const closing = life.close();
    assert.equal(life.isClosing, true);
    let stopped = false;
    life.add('late', {}, () => {
      stopped = true;
    });
    await closing;
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, true);
  });
});

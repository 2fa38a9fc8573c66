import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isIstioLiteError } from '../errors.ts';
import { withLock } from './lock.ts';
import {
  findProcessesWith,
  isAlive,
  isOurProcess,
  spawnDetached,
  stopProcess,
} from './processes.ts';

describe('local cluster processes', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'processes-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('knows a live pid from a dead one', () => {
    assert.equal(isAlive(process.pid), true);
    assert.equal(isAlive(4194305), false); // above Linux's pid_max
  });

  it('starts a detached process, recognises it by its marker, and stops it', async () => {
    const marker = `--marker=${dir}/x`;
    // `sh -c SCRIPT NAME ARG`: the marker stays in sh's argv while the script runs.
    const child = spawnDetached(
      'sh',
      ['-c', 'echo started; sleep 30', 'sh', marker],
      join(dir, 'log'),
    );
    const pid = child.pid!;
    await sleep(100);
    assert.equal(readFileSync(join(dir, 'log'), 'utf8'), 'started\n');
    assert.ok(isAlive(pid));
    assert.equal(isOurProcess(pid, marker), true);
    assert.equal(isOurProcess(pid, `--marker=${dir}/other`), false, 'a reused pid is not ours');
    assert.deepEqual(findProcessesWith([marker]), [pid]);
    assert.equal(await stopProcess(pid, 2000), true);
    assert.equal(isAlive(pid), false);
    assert.equal(isOurProcess(pid, marker), false);
    assert.deepEqual(findProcessesWith([marker]), []);
  });
});

describe('local cluster lock', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lock-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs holders one after the other', async () => {
    const lock = join(dir, 'a.lock');
    const order: string[] = [];
    const hold = (name: string) =>
      withLock(lock, {}, async () => {
        order.push(`${name} in`);
        await sleep(50);
        order.push(`${name} out`);
      });
    await Promise.all([hold('1'), hold('2')]);
    assert.deepEqual(order, ['1 in', '1 out', '2 in', '2 out']);
  });

  it('takes over a lock whose owner is dead, or an earlier process with our pid', async () => {
    for (const owner of ['4194305', String(process.pid)]) {
      const lock = join(dir, `stale-${owner}.lock`);
      writeFileSync(lock, `${owner}\n`);
      assert.equal(await withLock(lock, { timeoutMs: 1000 }, () => Promise.resolve('ran')), 'ran');
    }
  });

  it('gives up on a live owner after the timeout, naming the pid', async () => {
    const lock = join(dir, 'live.lock');
    writeFileSync(lock, '1\n'); // pid 1 is always alive
    await assert.rejects(
      withLock(lock, { timeoutMs: 300 }, () => Promise.resolve()),
      (e) => isIstioLiteError(e) && /held by pid 1/.test(e.message),
    );
  });
});

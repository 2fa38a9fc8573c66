import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from './log.ts';
import { watchFiles } from './watched-files.ts';

const logger = createLogger('test', { level: 'silent' });

describe('watched files', () => {
  it('reloads on change, keeps the last good value on bad content, fails a bad first load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watch-'));
    const file = join(dir, 'n.txt');
    writeFileSync(file, '1');
    const load = ([s]: readonly string[]) => {
      const n = Number(s);
      if (!Number.isInteger(n)) throw new Error(`not a number: ${s ?? ''}`);
      return n;
    };
    const w = await watchFiles({ name: 'n', paths: [file], load, logger, intervalMs: 50 });
    try {
      const seen: number[] = [];
      w.onChange((v) => seen.push(v));
      assert.equal(w.get(), 1);
      writeFileSync(file, '2');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(w.get(), 2);
      writeFileSync(file, 'oops');
      assert.equal(await w.reload(), false);
      assert.equal(w.get(), 2);
      writeFileSync(file, '3');
      await w.reload();
      assert.equal(w.get(), 3);
      assert.deepEqual(seen.slice(-1), [3]);
    } finally {
      w.close();
    }
    writeFileSync(file, 'bad');
    await assert.rejects(
      watchFiles({ name: 'n', paths: [file], load, logger }),
      /not a number: bad/,
    );
  });
});

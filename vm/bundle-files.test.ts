import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsBundleWriter, presentFiles, type BundleFile } from './bundle-files.ts';

const files: BundleFile[] = [
  { name: 'cluster.env', content: 'A=1\n', mode: 0o644 },
  { name: 'istio-token', content: 'secret\n', mode: 0o600 },
];

describe('writing a bundle', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'bundle-files-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the folder (0700), puts the files in place with their modes, and leaves nothing else', async () => {
    const dir = join(root, 'a', 'b');
    const staged = await fsBundleWriter.stage(dir, files);
    assert.deepEqual(await presentFiles(dir, ['cluster.env', 'istio-token']), []);
    await staged.commit();
    assert.deepEqual(readdirSync(dir).sort(), ['cluster.env', 'istio-token']);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'istio-token')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'cluster.env')).mode & 0o777, 0o644);
    assert.equal(readFileSync(join(dir, 'cluster.env'), 'utf8'), 'A=1\n');
  });

  it('replaces an earlier bundle, keeping the other files of the folder', async () => {
    writeFileSync(join(root, 'cluster.env'), 'OLD=1\n');
    writeFileSync(join(root, 'notes.txt'), 'mine');
    await (await fsBundleWriter.stage(root, files)).commit();
    assert.equal(readFileSync(join(root, 'cluster.env'), 'utf8'), 'A=1\n');
    assert.deepEqual(readdirSync(root).sort(), ['cluster.env', 'istio-token', 'notes.txt']);
  });

  it('puts the earlier bundle back when a rename fails, and removes what it staged', async () => {
    writeFileSync(join(root, 'cluster.env'), 'OLD=1\n');
    // A folder where a file must go makes its rename fail, after cluster.env was moved in.
    mkdirSync(join(root, 'istio-token'));
    writeFileSync(join(root, 'istio-token', 'x'), '');
    const staged = await fsBundleWriter.stage(root, files);
    await assert.rejects(staged.commit());
    assert.equal(readFileSync(join(root, 'cluster.env'), 'utf8'), 'OLD=1\n');
    assert.deepEqual(readdirSync(root).sort(), ['cluster.env', 'istio-token']);
  });

  it('discarding removes the staged files, and the folder when it created it', async () => {
    const dir = join(root, 'new');
    await (await fsBundleWriter.stage(dir, files)).discard();
    assert.equal(existsSync(dir), false);
    await (await fsBundleWriter.stage(root, files)).discard();
    assert.deepEqual(readdirSync(root), []);
  });
});

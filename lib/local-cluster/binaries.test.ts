import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, isIstioLiteError } from '../errors.ts';
import { buildScript, cacheDir, findBinary, parseEtcdVersion, pinnedVersions } from './binaries.ts';

function fakeBinary(path: string, output = ''): string {
  writeFileSync(path, `#!/bin/sh\necho '${output}'\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('local cluster binaries', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'binaries-'));
    mkdirSync(join(dir, 'path'));
    mkdirSync(join(dir, 'cache'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the pinned versions from the build script', () => {
    const v = pinnedVersions(readFileSync(buildScript, 'utf8'));
    assert.match(v['kube-apiserver'], /^v1\.\d+\.\d+$/);
    assert.match(v.etcd, /^v3\.\d+\.\d+$/);
    assert.match(v.helm, /^v3\.\d+\.\d+$/);
    assert.throws(() => pinnedVersions('ETCD_VERSION=v3\n'), /KUBE_VERSION/);
  });

  const versions: { output: string; want: [number, number] | undefined }[] = [
    { output: 'etcd Version: 3.6.16\nGit SHA: x', want: [3, 6] },
    { output: 'etcd Version: 3.4.23', want: [3, 4] },
    { output: 'etcd Version: v3.5.0', want: [3, 5] },
    { output: 'command not found', want: undefined },
  ];
  for (const c of versions) {
    it(`parses "${c.output.split('\n')[0] ?? ''}"`, () => {
      assert.deepEqual(parseEtcdVersion(c.output), c.want);
    });
  }

  it('uses ISTIO_LITE_CACHE as the cache folder', () => {
    assert.equal(cacheDir({ ISTIO_LITE_CACHE: join(dir, 'cache') }), join(dir, 'cache'));
    assert.match(cacheDir({}), /\.cache\/bin$/);
  });

  it('looks in the env var, then PATH, then the cache folder', () => {
    const cache = join(dir, 'cache');
    const env = { PATH: join(dir, 'path'), ISTIO_LITE_CACHE: cache, HELM_VERSION: 'v9.9.9' };
    assert.equal(findBinary('helm', env), undefined);
    const cached = fakeBinary(join(cache, 'helm-v9.9.9'));
    assert.equal(findBinary('helm', env), cached);
    const onPath = fakeBinary(join(dir, 'path', 'helm'));
    assert.equal(findBinary('helm', env), onPath);
    const explicit = fakeBinary(join(dir, 'my-helm'));
    assert.equal(findBinary('helm', { ...env, HELM: explicit }), explicit);
  });

  it('refuses an env var that names no executable', () => {
    assert.throws(
      () => findBinary('kube-apiserver', { KUBE_APISERVER: join(dir, 'nope') }),
      (e) =>
        isIstioLiteError(e) &&
        e.code === ErrorCode.InvalidConfig &&
        /KUBE_APISERVER/.test(e.message),
    );
  });

  it('skips an etcd on PATH older than 3.5', () => {
    const path = join(dir, 'old-etcd');
    mkdirSync(path);
    fakeBinary(join(path, 'etcd'), 'etcd Version: 3.4.23');
    const env = { PATH: path, ISTIO_LITE_CACHE: join(dir, 'cache'), ETCD_VERSION: 'v3.6.0' };
    assert.equal(findBinary('etcd', env), undefined);
    fakeBinary(join(path, 'etcd'), 'etcd Version: 3.6.16');
    assert.equal(findBinary('etcd', env), join(path, 'etcd'));
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, isIstioLiteError } from '../errors.ts';
import {
  buildScript,
  cacheDir,
  cacheFileName,
  ensureBinary,
  eurekaSourceDir,
  eurekaSourceHash,
  findBinary,
  grpcGoClientSourceDir,
  grpcGoClientSourceHash,
  missingBinaryError,
  parseEtcdVersion,
  pinnedVersions,
} from './binaries.ts';

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
    // The three Kubernetes binaries are built from one module at one version.
    assert.equal(v['kube-controller-manager'], v['kube-apiserver']);
    assert.equal(v['kube-scheduler'], v['kube-apiserver']);
    assert.match(v.kwok, /^v0\.\d+\.\d+$/);
    assert.match(v.etcd, /^v3\.\d+\.\d+$/);
    assert.match(v.helm, /^v3\.\d+\.\d+$/);
    assert.match(v.consul, /^v1\.14\.\d+$/);
    assert.match(v.jaeger, /^v\d+\.\d+\.\d+$/);
    assert.match(v.eureka, /^\d{4}\.\d+\.\d+$/);
    assert.match(v['grpc-go-client'], /^v1\.\d+\.\d+$/);
    // istio.io/istio has no semver tags: a commit's pseudo-version.
    assert.match(v['pilot-discovery'], /^v0\.0\.0-\d{14}-[0-9a-f]{12}$/);
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

  it('names the Eureka jar by its Spring Cloud release and a hash of its sources', () => {
    const hash = eurekaSourceHash();
    assert.match(hash ?? '', /^[0-9a-f]{8}$/);
    assert.equal(cacheFileName('eureka', '2025.1.4'), `eureka-server-2025.1.4-${hash ?? ''}.jar`);
    assert.equal(cacheFileName('consul', 'v1.14.11'), 'consul-v1.14.11');
    // An edit to the sources is another jar; no sources (an installed package), no cached jar.
    const copy = join(dir, 'eureka-src');
    mkdirSync(join(copy, 'src', 'main'), { recursive: true });
    writeFileSync(join(copy, 'pom.xml'), readFileSync(join(eurekaSourceDir, 'pom.xml')));
    writeFileSync(join(copy, 'src', 'main', 'App.java'), 'class App {}\n');
    const first = eurekaSourceHash(copy);
    writeFileSync(join(copy, 'src', 'main', 'App.java'), 'class App { }\n');
    assert.notEqual(eurekaSourceHash(copy), first);
    assert.equal(eurekaSourceHash(join(dir, 'nowhere')), undefined);
    assert.equal(cacheFileName('eureka', '2025.1.4', join(dir, 'nowhere')), undefined);
  });

  it('finds the Eureka jar under the name scripts/build-binaries.sh gives it', () => {
    const cache = join(dir, 'eureka-cache');
    mkdirSync(cache);
    const name = cacheFileName('eureka', '2025.1.4');
    assert.ok(name !== undefined);
    writeFileSync(join(cache, name), 'not really a jar');
    // Maven cannot start: had the script computed another name, it would try to build and fail.
    const r = spawnSync('bash', [buildScript, cache, 'eureka'], {
      encoding: 'utf8',
      env: { ...process.env, EUREKA_VERSION: '2025.1.4', MAVEN_OPTS: '-XX:+NoSuchOption' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /eureka server \(Spring Cloud 2025\.1\.4\) cached/);
    const env = { PATH: '/usr/bin:/bin', ISTIO_LITE_CACHE: cache, EUREKA_VERSION: '2025.1.4' };
    assert.equal(findBinary('eureka', env), join(cache, name), 'a jar needs no execute bit');
    assert.equal(findBinary('eureka', { ...env, EUREKA_VERSION: '2025.1.0' }), undefined);
  });

  it('builds the grpc-go client with the grpc-go its go.mod requires, named by a hash of its sources', () => {
    const pin = pinnedVersions(readFileSync(buildScript, 'utf8'))['grpc-go-client'];
    const goMod = readFileSync(join(grpcGoClientSourceDir, 'go.mod'), 'utf8');
    assert.match(
      goMod,
      new RegExp(`^require google\\.golang\\.org/grpc ${pin.replaceAll('.', '\\.')}$`, 'm'),
    );
    const hash = grpcGoClientSourceHash();
    assert.match(hash ?? '', /^[0-9a-f]{8}$/);
    const name = cacheFileName('grpc-go-client', pin);
    assert.equal(name, `grpc-go-client-${pin}-${hash ?? ''}`);
    const copy = join(dir, 'grpc-go-src');
    mkdirSync(copy);
    writeFileSync(join(copy, 'go.mod'), goMod);
    const first = grpcGoClientSourceHash(copy);
    writeFileSync(join(copy, 'main.go'), 'package main\n');
    assert.notEqual(grpcGoClientSourceHash(copy), first);
    assert.equal(grpcGoClientSourceHash(join(dir, 'nowhere')), undefined);
    // The script finds it under the same name (Go cannot run: it would fail had it tried to build).
    const cache = join(dir, 'grpc-go-cache');
    mkdirSync(cache);
    fakeBinary(join(cache, name));
    const r = spawnSync('bash', [buildScript, cache, 'grpc-go-client'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/usr/bin:/bin', GRPC_GO_VERSION: pin },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /grpc-go-client \(grpc-go v1\.\d+\.\d+\) cached/);
    const env = { PATH: '/usr/bin:/bin', ISTIO_LITE_CACHE: cache };
    assert.equal(findBinary('grpc-go-client', env), join(cache, name));
    assert.equal(findBinary('grpc-go-client', { ...env, GRPC_GO_VERSION: 'v1.0.0' }), undefined);
  });

  it('takes EUREKA_JAR as a readable file, and never looks for a jar on PATH', () => {
    const jar = join(dir, 'mine.jar');
    writeFileSync(jar, '');
    const path = join(dir, 'path-eureka');
    mkdirSync(path);
    fakeBinary(join(path, 'eureka'));
    const env = { PATH: path, ISTIO_LITE_CACHE: join(dir, 'cache'), EUREKA_VERSION: 'x' };
    assert.equal(findBinary('eureka', env), undefined);
    assert.equal(findBinary('eureka', { ...env, EUREKA_JAR: jar }), jar);
    assert.throws(
      () => findBinary('eureka', { ...env, EUREKA_JAR: join(dir, 'nope.jar') }),
      (e) =>
        isIstioLiteError(e) &&
        e.code === ErrorCode.InvalidConfig &&
        /EUREKA_JAR=.*not a readable file/.test(e.message),
    );
    assert.match(
      missingBinaryError('eureka', env).message,
      /eureka x is not built: .*set EUREKA_JAR to the jar/,
    );
    assert.match(missingBinaryError('consul', { CONSUL_VERSION: 'v1' }).message, /set CONSUL /);
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

describe('building a missing binary', () => {
  let dir: string;
  let script: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'build-'));
    script = join(dir, 'build.sh');
    // Like scripts/build-binaries.sh: `build.sh CACHE NAME` writes CACHE/NAME-VERSION; counts runs.
    writeFileSync(
      script,
      [
        'echo "building $2" >&2',
        'echo run >> "$1/runs"',
        'sleep 0.2',
        '[ "$2" = helm ] || exit 3',
        'printf "#!/bin/sh\\n" > "$1/helm-$HELM_VERSION"; chmod +x "$1/helm-$HELM_VERSION"',
        'echo done',
      ].join('\n'),
    );
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the build script once for concurrent callers, forwarding its progress', async () => {
    const cache = join(dir, 'cache');
    const env = { PATH: '/usr/bin:/bin', ISTIO_LITE_CACHE: cache, HELM_VERSION: 'v0.0.1' };
    const lines: string[] = [];
    const opts = { env, buildScript: script, progress: (l: string) => lines.push(l) };
    const [a, b] = await Promise.all([ensureBinary('helm', opts), ensureBinary('helm', opts)]);
    assert.equal(a, join(cache, 'helm-v0.0.1'));
    assert.equal(b, a);
    assert.equal(readFileSync(join(cache, 'runs'), 'utf8'), 'run\n');
    assert.ok(lines.includes('building helm'));
    assert.ok(lines.includes('done'));
  });

  it('fails with EXTERNAL naming the env var when the build fails', async () => {
    const env = {
      PATH: '/usr/bin:/bin',
      ISTIO_LITE_CACHE: join(dir, 'cache2'),
      ETCD_VERSION: 'v0',
    };
    await assert.rejects(
      ensureBinary('etcd', { env, buildScript: script, progress: () => undefined }),
      (e) =>
        isIstioLiteError(e) &&
        e.code === ErrorCode.External &&
        /exited 3.*set ETCD/.test(e.message),
    );
  });

  it('never builds under ISTIO_LITE_NO_BUILD=1 (the test tiers), naming the script to run', async () => {
    const cache = join(dir, 'cache3');
    const env = {
      PATH: '/usr/bin:/bin',
      ISTIO_LITE_CACHE: cache,
      HELM_VERSION: 'v0.0.2',
      ISTIO_LITE_NO_BUILD: '1',
    };
    await assert.rejects(
      ensureBinary('helm', { env, buildScript: script, progress: () => undefined }),
      (e) =>
        isIstioLiteError(e) &&
        e.code === ErrorCode.External &&
        /helm v0\.0\.2 is not built: run `bash scripts\/build-binaries\.sh`.*set HELM/.test(
          e.message,
        ),
    );
    assert.equal(existsSync(join(cache, 'runs')), false, 'the build script did not run');
  });
});

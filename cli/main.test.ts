import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { main } from './main.ts';
import { captureIo } from './testing/capture-io.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

async function run(
  argv: string[],
  stdin = '',
): Promise<{ code: number; out: string; err: string }> {
  const io = { ...captureIo(root, {}), stdin: Readable.from([stdin]) };
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('istio-lite command line', () => {
  it('lists its commands with --help', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /kube-inject/);
  });

  it('refuses an unknown command with a usage line and exit code 2', async () => {
    const r = await run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command "frobnicate"\nUsage: istio-lite/);
  });

  it('refuses an unknown flag with the usage line and exit code 2', async () => {
    const r = await run(['kube-inject', '--bogus']);
    assert.equal(r.code, 2);
    assert.match(r.err, /Unknown option '--bogus'/);
    assert.match(r.err, /Usage: istio-lite kube-inject -f FILE/);
  });

  it('requires -f', async () => {
    const r = await run(['kube-inject']);
    assert.equal(r.code, 2);
    assert.match(r.err, /-f\/--filename is required/);
  });

  it('injects from stdin to stdout', async () => {
    const r = await run(
      ['kube-inject', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: app\n',
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /name: istio-proxy/);
  });

  it('reports decisions with --report', async () => {
    const r = await run(['kube-inject', '-f', 'testdata/inject/list.yaml', '--report']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /Deployment default\/web: inject \(namespace_enabled\)/);
    assert.match(r.err, /Pod default\/opted-out: skip \(pod_opt_out\)/);
  });

  it('writes nothing to -o when a document is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-inject-'));
    const input = join(dir, 'in.yaml');
    const output = join(dir, 'out.yaml');
    writeFileSync(
      input,
      'kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a}]}\n---\nkind: [\n',
    );
    const r = await run(['kube-inject', '-f', input, '-o', output]);
    assert.equal(r.code, 1);
    assert.match(r.err, /in\.yaml: document 2, line \d+: invalid YAML/);
    assert.equal(existsSync(output), false);
  });

  it('names the document of an object that cannot be injected', async () => {
    const r = await run(
      ['kube-inject', '-f', '-'],
      'kind: ConfigMap\n---\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    sidecar.istio.io/proxyCPU: lots\nspec:\n  containers: [{name: a}]\n',
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /stdin: document 2 \(line 3\): annotation sidecar\.istio\.io\/proxyCPU/);
  });

  it('writes -o and takes config files (a ConfigMap) like istioctl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-inject-'));
    const output = join(dir, 'out.yaml');
    const r = await run([
      'kube-inject',
      '-f',
      'testdata/inject/custom-config.yaml',
      '-o',
      output,
      '--injectConfigFile',
      'testdata/inject/config-custom.yaml',
      '--meshConfigFile',
      'testdata/inject/mesh-custom.yaml',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      readFileSync(output, 'utf8'),
      readFileSync(join(root, 'testdata/inject/custom-config.yaml.injected'), 'utf8'),
    );
  });

  it('names a bad config field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-inject-'));
    const cfg = join(dir, 'cfg.yaml');
    writeFileSync(cfg, 'proxy:\n  imagePullPolicy: Sometimes\n');
    const r = await run([
      'kube-inject',
      '-f',
      'testdata/inject/pod.yaml',
      '--injectConfigFile',
      cfg,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /injector config: proxy\.imagePullPolicy: must be one of Always, IfNotPresent, Never/,
    );
  });

  it('refuses pilot (and start) --registries naming a registry without its URL, or one it does not know', async () => {
    const r = await run(['pilot', '--registries', 'Kubernetes,Consul']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--registries Consul needs --consulserverURL/);
    const u = await run(['pilot', '--registries', 'Kubernetes,Nacos']);
    assert.equal(u.code, 2);
    assert.match(u.err, /--registries: "Nacos" is not a registry Pilot knows/);
    // npm start takes the same flags, checked before anything starts.
    const s = await run(['start', '--registries', 'Kubernetes,Eureka']);
    assert.equal(s.code, 2);
    assert.match(s.err, /--registries Eureka needs --eurekaserverURL/);
  });

  it('exits 2 as a real process on an unknown flag', async () => {
    const exec = promisify(execFile);
    await assert.rejects(
      exec(process.execPath, [join(root, 'cli/main.ts'), 'kube-inject', '--nope']),
      (e: unknown) => typeof e === 'object' && e !== null && 'code' in e && e.code === 2,
    );
  });
});

describe('command registry', () => {
  it('names each entry as its command does', async () => {
    const { commands } = await import('./registry.ts');
    for (const entry of commands) assert.equal((await entry.load()).name, entry.name);
  });
});

import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { waitFor } from './webhook-support.ts';

const main = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

describe('npm start (istio-lite start) on the embedded local cluster', function () {
  this.timeout(180_000);
  const stateDir = mkdtempSync(join(tmpdir(), 'istio-lite-start-'));
  let child: ChildProcess | undefined;
  let out = '';
  after(() => {
    child?.kill('SIGKILL');
  });

  it('brings everything up, injects the examples, refuses a second start, and stops cleanly on SIGTERM', async () => {
    child = spawn(process.execPath, [main, 'start', '--state-dir', stateDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const endpointsFile = join(stateDir, 'endpoints.json');
    await waitFor(
      () => existsSync(endpointsFile) && out.includes('running;'),
      150_000,
      'endpoints.json',
    );
    const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as Record<string, string>;
    assert.equal(endpoints['kubeconfig'], join(stateDir, 'kubeconfig'));
    for (const key of ['webhook', 'pilotXds', 'pilotHttp', 'caGrpc', 'mixerGrpc', 'mixerMetrics']) {
      assert.match(endpoints[key] ?? '', /^127\.0\.0\.1:\d+$/, key);
    }
    // Pilot is ready once its caches synced and the first snapshot is built.
    await waitFor(
      async () => (await fetch(`http://${endpoints['pilotHttp'] ?? ''}/ready`)).status === 200,
      20_000,
      'pilot /ready',
    );
    const kc = loadKubeConfig(endpoints['kubeconfig']);
    const core = kc.makeApiClient(CoreV1Api);
    // Mixer is ready once its config informers (on the chart's CRDs) synced.
    await waitFor(
      async () => (await fetch(`http://${endpoints['mixerMetrics'] ?? ''}/ready`)).status === 200,
      20_000,
      'mixer /ready',
    );
    // The chart's CRDs are installed whole: their schemas refuse a malformed rule, naming the field.
    const custom = kc.makeApiClient(CustomObjectsApi);
    await assert.rejects(
      custom.createNamespacedCustomObject({
        group: 'config.istio.io',
        version: 'v1alpha2',
        namespace: 'demo',
        plural: 'routerules',
        body: {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'RouteRule',
          metadata: { name: 'too-heavy' },
          spec: {
            destination: { name: 'reviews' },
            route: [{ labels: { version: 'v1' }, weight: 150 }],
          },
        },
      }),
      /spec\.route\[0\]\.weight/,
    );
    // The CA gave the example's service accounts their istio.<sa> Secrets.
    await waitFor(
      async () => {
        const s = await core.readNamespacedSecret({ name: 'istio.productpage', namespace: 'demo' });
        return s.type === 'istio.io/key-and-cert';
      },
      20_000,
      'istio.productpage Secret',
    );
    assert.match(out, /pod demo\/productpage-v1-local: injected/);
    assert.match(
      out,
      /pod demo\/mongodb-local: injected\n {2}initContainers: istio-init, istio-proxy, fix-permissions/,
    );
    assert.match(out, /pod demo\/debug-shell: not injected/);
    // A person reads short lines; every component's JSON logs are in the file it names.
    const logFile = join(stateDir, 'logs', 'control-plane.log');
    assert.ok(out.includes(`logs of every component (JSON lines): ${logFile}`), out);
    assert.doesNotMatch(out, /^\{/m, 'no JSON log line on the terminal');
    const logLines = readFileSync(logFile, 'utf8').trim().split('\n');
    assert.ok(logLines.length > 0);
    for (const l of logLines)
      assert.equal(typeof (JSON.parse(l) as { msg: unknown }).msg, 'string');

    const second = await promisify(execFile)(process.execPath, [
      main,
      'start',
      '--state-dir',
      stateDir,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (e: unknown) => ({
        code: (e as { code?: number }).code,
        stderr: String((e as { stderr?: string }).stderr),
      }),
    );
    assert.equal(second.code, 1);
    assert.match(second.stderr, /already running \(pid \d+\)/);

    const exited = new Promise<number | null>((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(endpointsFile), false);
    assert.equal(existsSync(join(stateDir, 'state.json')), false);
  });
});

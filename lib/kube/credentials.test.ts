import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { toYaml } from '../yaml.ts';
import { StaticCredentials, loadKubeCredentials } from './credentials.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
    users: [{ name: 'u', user }],
  };
}

async function options(creds: { applyToHTTPSOptions(o: RequestOptions): Promise<void> }) {
  const o: RequestOptions = {};
  await creds.applyToHTTPSOptions(o);
  return o;
}

describe('loadKubeCredentials (without client-node)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'istio-lite-creds-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, v: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof v === 'string' ? v : toYaml(v));
    return p;
  };

  it('takes the server, CA and client certificate of the current context', async () => {
    const file = write(
      'kc',
      kubeconfig(
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        { 'certificate-authority-data': b64('CA'), 'tls-server-name': 'kubernetes' },
      ),
    );
    const creds = await loadKubeCredentials(file, { env: {} });
    assert.ok(creds instanceof StaticCredentials);
    assert.equal(creds.getCurrentCluster().server, 'https://127.0.0.1:6443');
    const o = await options(creds);
    assert.deepEqual(o.ca, Buffer.from('CA'));
    assert.deepEqual(o.cert, Buffer.from('CERT'));
    assert.deepEqual(o.key, Buffer.from('KEY'));
    assert.equal(o.servername, 'kubernetes');
    assert.equal(o.rejectUnauthorized, undefined);
  });

  it('reads certificate files relative to the kubeconfig, and KUBECONFIG when no path is given', async () => {
    mkdirSync(join(dir, 'pki'));
    write('pki/ca.crt', 'CA-FILE');
    write('pki/client.crt', 'CERT-FILE');
    write('pki/client.key', 'KEY-FILE');
    const file = write(
      'kc',
      kubeconfig(
        { 'client-certificate': 'pki/client.crt', 'client-key': join(dir, 'pki/client.key') },
        { 'certificate-authority': 'pki/ca.crt', 'insecure-skip-tls-verify': true },
      ),
    );
    const o = await options(await loadKubeCredentials(undefined, { env: { KUBECONFIG: file } }));
    assert.deepEqual(o.ca, Buffer.from('CA-FILE'));
    assert.deepEqual(o.cert, Buffer.from('CERT-FILE'));
    assert.deepEqual(o.key, Buffer.from('KEY-FILE'));
    assert.equal(o.rejectUnauthorized, false);
  });

  it('sends a token as a bearer, keeping other headers', async () => {
    const creds = await loadKubeCredentials(write('kc', kubeconfig({ token: 'abc' })), { env: {} });
    const o: RequestOptions = { headers: { Accept: 'application/json' } };
    await creds.applyToHTTPSOptions(o);
    assert.deepEqual(o.headers, { Accept: 'application/json', Authorization: 'Bearer abc' });
  });

  it('in a pod: the service account token (read again once it is old), the CA and the service host', async () => {
    write('token', 'first\n');
    write('ca.crt', 'SA-CA');
    let now = 1_000_000;
    const creds = await loadKubeCredentials(undefined, {
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
      serviceAccountDir: dir,
      now: () => now,
    });
    assert.equal(creds.getCurrentCluster()?.server, 'https://[fd00::1]:6443');
    const o = await options(creds);
    assert.deepEqual(o.ca, Buffer.from('SA-CA'));
    assert.deepEqual(o.headers, { Authorization: 'Bearer first' });
    write('token', 'second\n');
    // Within a minute the token read is kept; then the kubelet's rotated one is read.
    now += 30_000;
    assert.deepEqual((await options(creds)).headers, { Authorization: 'Bearer first' });
    now += 31_000;
    assert.deepEqual((await options(creds)).headers, { Authorization: 'Bearer second' });
  });

  it('hands what it does not cover (an exec plugin) to client-node', async () => {
    const file = write(
      'kc',
      kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } }),
    );
    const creds = await loadKubeCredentials(file, { env: {} });
    assert.ok(creds instanceof KubeConfig);
    assert.equal(creds.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  });

  it('names the file and what is wrong', async () => {
    const noContext = write('a', { apiVersion: 'v1', kind: 'Config', clusters: [] });
    await assert.rejects(loadKubeCredentials(noContext, { env: {} }), (e: unknown) => {
      assert.ok(e instanceof IstioLiteError);
      assert.equal(e.code, ErrorCode.InvalidConfig);
      assert.match(e.message, /kubeconfig \(.*\/a\): has no current-context/);
      return true;
    });
    const badCa = write('b', kubeconfig({}, { 'certificate-authority': 'missing.crt' }));
    await assert.rejects(
      loadKubeCredentials(badCa, { env: {} }),
      /certificate-authority .*missing\.crt/,
    );
    await assert.rejects(
      loadKubeCredentials(join(dir, 'none'), { env: {} }),
      /kubeconfig \(.*none\): .*ENOENT/,
    );
  });
});

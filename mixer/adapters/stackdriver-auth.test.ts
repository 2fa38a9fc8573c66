/**
 * The stackdriver adapter's credentials, end to end through Google's real clients: Mixer runs in
 * a process of its own that trusts a test CA (NODE_EXTRA_CA_CERTS, as a private endpoint's CA
 * would be trusted), and the local CreateTimeSeries/WriteLogEntries server
 * (mixer/testing/google-cloud-emulator.ts) listens with TLS on 127.0.0.1 and records what each
 * call carried. A service account key file (serviceAccountPath, or appCredentials with
 * GOOGLE_APPLICATION_CREDENTIALS) makes the client sign a JWT with that key, checked here against
 * the key's public half; an apiKey is sent as x-goog-api-key. The Google packages are not loaded
 * until the first push.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSelfSignedCa, issueCertificate } from '../../lib/pki/simple-certs.ts';
import {
  startGoogleCloudEmulator,
  type GoogleCloudEmulator,
} from '../testing/google-cloud-emulator.ts';

const exec = promisify(execFile);
const child = fileURLToPath(new URL('../testing/stackdriver-child.ts', import.meta.url));

interface ChildReport {
  readonly problems: string[];
  readonly before: { loaded: boolean; rss: number };
  readonly after: { loaded: boolean; rss: number };
}

function base64url(s: string): Buffer {
  return Buffer.from(s, 'base64url');
}

describe('stackdriver adapter credentials (TLS, a real Google client, a process of its own)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'istio-lite-stackdriver-auth-'));
  const ca = createSelfSignedCa('stackdriver test CA', 3_600_000);
  const caFile = join(dir, 'ca.pem');
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'service-account.json');
  const email = 'mixer@istio-lite-test.iam.gserviceaccount.com';
  let emulator: GoogleCloudEmulator;

  before(async () => {
    writeFileSync(caFile, ca.cert);
    writeFileSync(
      keyFile,
      JSON.stringify({
        type: 'service_account',
        project_id: 'istio-lite-test',
        private_key_id: 'key-1',
        private_key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: email,
        client_id: '1',
        // Never called: with a key file the client signs its own JWT.
        token_uri: 'http://127.0.0.1:9/token',
      }),
    );
    const tls = issueCertificate(ca, {
      commonName: 'localhost',
      ips: ['127.0.0.1'],
      serverAuth: true,
      lifetimeMs: 3_600_000,
    });
    emulator = await startGoogleCloudEmulator(tls);
  });
  after(async () => {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    emulator.timeSeries.length = 0;
    emulator.logEntries.length = 0;
  });

  async function runChild(credentials: string, env: NodeJS.ProcessEnv = {}): Promise<ChildReport> {
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      `
apiVersion: config.istio.io/v1alpha2
kind: stackdriver
metadata: { name: handler, namespace: istio-system }
spec:
  endpoint: 127.0.0.1:${String(emulator.port)}
  projectId: istio-lite-test
  ${credentials}
  metricInfo: { requestcount.metric.istio-system: { kind: DELTA, value: INT64 } }
  logInfo: { accesslog.logentry.istio-system: { labelNames: [code] } }
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: requestcount, namespace: istio-system }
spec: { value: "1", dimensions: { code: response.code | 0 } }
---
apiVersion: config.istio.io/v1alpha2
kind: logentry
metadata: { name: accesslog, namespace: istio-system }
spec: { variables: { code: response.code | 0 } }
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: stackdriver, namespace: istio-system }
spec:
  actions: [{ handler: handler.stackdriver, instances: [requestcount.metric, accesslog.logentry] }]
`,
    );
    const { stdout } = await exec(process.execPath, [child, file], {
      env: { PATH: process.env['PATH'], NODE_EXTRA_CA_CERTS: caFile, ...env },
    });
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChildReport;
    assert.deepEqual(report.problems, []);
    return report;
  }

  /** The JWT a call carried, verified against the service account's public key. */
  function verifiedJwt(authorization: string): Record<string, unknown> {
    const m = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(authorization);
    assert.ok(m, `a bearer JWT, got ${authorization.slice(0, 20)}…`);
    const [, header = '', payload = '', signature = ''] = m;
    const ok = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      keys.publicKey,
      base64url(signature),
    );
    assert.ok(ok, 'the JWT is signed with the service account key');
    assert.equal((JSON.parse(base64url(header).toString()) as { kid?: string }).kid, 'key-1');
    return JSON.parse(base64url(payload).toString()) as Record<string, unknown>;
  }

  it('serviceAccountPath: both calls carry a JWT signed with the key; Google’s packages load only on the first push', async () => {
    const report = await runChild(`serviceAccountPath: ${keyFile}`);
    assert.equal(report.before.loaded, false, 'not loaded before the first push');
    assert.equal(report.after.loaded, true);
    assert.equal(emulator.timeSeries.length, 1);
    assert.equal(emulator.logEntries.length, 1);
    for (const call of [emulator.timeSeries[0], emulator.logEntries[0]]) {
      const auth = String(call?.metadata.get('authorization')[0] ?? '');
      const claims = verifiedJwt(auth);
      assert.equal(claims['iss'], email);
      assert.equal(claims['sub'], email);
    }
    const series = emulator.timeSeries[0]?.request.timeSeries[0] as {
      metric: { labels: Record<string, string> };
    };
    assert.deepEqual(series.metric.labels, { code: '200' });
  });

  it('appCredentials with GOOGLE_APPLICATION_CREDENTIALS: the same key, found by the client', async () => {
    await runChild('appCredentials: true', { GOOGLE_APPLICATION_CREDENTIALS: keyFile });
    const auth = String(emulator.timeSeries[0]?.metadata.get('authorization')[0] ?? '');
    assert.equal(verifiedJwt(auth)['iss'], email);
  });

  it('apiKey: sent as x-goog-api-key, with no bearer token', async () => {
    await runChild('apiKey: test-api-key');
    for (const call of [emulator.timeSeries[0], emulator.logEntries[0]]) {
      assert.deepEqual(call?.metadata.get('x-goog-api-key'), ['test-api-key']);
      assert.deepEqual(call.metadata.get('authorization'), []);
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isObject, type JsonObject } from '../../lib/json.ts';
import { opensslServingCerts } from '../../lib/testing/openssl-certs.ts';
import type { RunningWebhook } from '../../webhook/run.ts';
import { useLocalCluster } from './local-cluster.ts';
import { startTestWebhook, waitFor } from './webhook-support.ts';

function admit(port: number, ca: string, namespace: string): Promise<JsonObject> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace,
      operation: 'CREATE',
      object: { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a' }] } },
    },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/inject',
        method: 'POST',
        ca,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => {
          const v: unknown = JSON.parse(data);
          if (isObject(v) && isObject(v['response'])) resolve(v['response']);
          else reject(new Error(data));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function patchText(res: JsonObject): string {
  return typeof res['patch'] === 'string' ? Buffer.from(res['patch'], 'base64').toString() : '';
}

describe('webhook reloads its mounted config and certificate files', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespaceLabels: { 'istio-injection': 'enabled' } });
  let webhook: RunningWebhook | undefined;
  after(async () => {
    await webhook?.close();
  });

  it('uses a new injector config and a new serving certificate without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-files-'));
    const config = join(dir, 'config');
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    const first = opensslServingCerts('first');
    writeFileSync(cert, first.cert);
    writeFileSync(key, first.key);
    writeFileSync(config, 'proxy:\n  image: registry.example.com/proxy:1\n');
    webhook = await startTestWebhook(env.kc, {
      injectConfigFile: config,
      tlsCertFile: cert,
      tlsKeyFile: key,
    });
    const port = webhook.port;
    assert.match(
      patchText(await admit(port, first.caCert, env.namespace)),
      /registry\.example\.com\/proxy:1/,
    );

    writeFileSync(config, 'proxy:\n  image: registry.example.com/proxy:2\n');
    await waitFor(
      async () => patchText(await admit(port, first.caCert, env.namespace)).includes('proxy:2'),
      10_000,
      'config reload',
    );

    // A broken config keeps the last good one.
    writeFileSync(config, 'proxy:\n  imagePullPolicy: Sometimes\n');
    await new Promise((r) => setTimeout(r, 2500));
    assert.match(patchText(await admit(port, first.caCert, env.namespace)), /proxy:2/);

    const second = opensslServingCerts('second');
    writeFileSync(cert, second.cert);
    writeFileSync(key, second.key);
    await waitFor(
      async () => (await admit(port, second.caCert, env.namespace))['allowed'] === true,
      10_000,
      'certificate reload',
    );
  });
});

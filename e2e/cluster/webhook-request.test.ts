/**
 * The webhook's hot path (webhook/plain-json.ts) takes what the API server sends: a real
 * kube-apiserver's admission call, captured by a bare HTTPS server registered as a webhook for one
 * namespace, is a request isPlainJsonPost accepts (POST to the configured path with ?timeout=, a
 * JSON body of known length, no compression), so the API server's calls never take the express
 * route.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { opensslServingCerts } from '../../lib/testing/openssl-certs.ts';
import { isPlainJsonPost } from '../../webhook/plain-json.ts';
import { useLocalCluster } from './local-cluster.ts';
import { simplePod, waitFor } from './webhook-support.ts';

interface Captured {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly bodyBytes: number;
  readonly plain: boolean;
}

describe("the API server's admission request", function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'webhook-request' });
  const captured: Captured[] = [];
  let server: Server;
  let configName: string;
  // Kept from before(): the cluster helper's own after() runs first and forgets the cluster.
  let admission: AdmissionregistrationV1Api;

  before(async () => {
    const certs = opensslServingCerts('capture');
    server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
      const plain = isPlainJsonPost(req, 6 * 1024 * 1024);
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const { method, url, headers } = req;
        captured.push({ method, url, headers, bodyBytes: body.length, plain });
        const uid = (JSON.parse(body.toString()) as { request: { uid: string } }).request.uid;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid, allowed: true },
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    configName = `capture-${env.namespace}`;
    admission = env.kc.makeApiClient(AdmissionregistrationV1Api);
    await admission.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: configName },
        webhooks: [
          {
            name: 'capture.istio-lite.test',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Ignore',
            timeoutSeconds: 7,
            clientConfig: {
              url: `https://127.0.0.1:${String((server.address() as AddressInfo).port)}/inject`,
              caBundle: Buffer.from(certs.caCert).toString('base64'),
            },
            rules: [
              { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] },
            ],
            namespaceSelector: {
              matchLabels: { 'kubernetes.io/metadata.name': env.namespace },
            },
          },
        ],
      },
    });
  });
  after(async () => {
    await admission.deleteMutatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    server.close();
  });

  it('is a POST of a JSON body of known length with ?timeout=, which the hot path takes', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    // The configuration takes effect within moments; dry runs until the webhook is called.
    await waitFor(
      async () => {
        await core.createNamespacedPod({
          namespace: env.namespace,
          body: simplePod(`probe-${String(Date.now())}`),
          dryRun: 'All',
        });
        return captured.length > 0;
      },
      15_000,
      'the capture webhook to be called',
    );
    const c = captured[0];
    assert.ok(c);
    assert.equal(c.method, 'POST');
    assert.match(c.url ?? '', /^\/inject\?timeout=7s$/);
    assert.match(c.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(c.headers['content-length'], String(c.bodyBytes));
    assert.equal(c.headers['content-encoding'], undefined);
    assert.equal(c.headers['transfer-encoding'], undefined);
    assert.equal(c.plain, true, JSON.stringify(c.headers));
  });
});

import assert from 'node:assert/strict';
import { createLogger } from '../lib/log.ts';
import { createRegistry } from '../lib/metrics.ts';
import { opensslServingCerts, type TestCerts } from '../lib/testing/openssl-certs.ts';
import type { AdmissionHandler, RejectedRequest } from './admission-handler.ts';
import type { AdmissionOutcome, AdmissionRequest } from './admission-review.ts';
import { startWebhookServer, type WebhookServer } from './server.ts';
import { get, post, responseOf, review } from './testing/test-client.ts';
import { memoryTlsSource } from './tls-source.ts';

const logger = createLogger('webhook-test', { level: 'silent' });

const pod = { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a' }] } };

describe('webhook server with any AdmissionHandler', () => {
  let certs: TestCerts;
  let server: WebhookServer;
  const seen: AdmissionRequest[] = [];
  const rejected: RejectedRequest[] = [];
  let answer: (req: AdmissionRequest) => Promise<AdmissionOutcome>;

  // Knows nothing of pods or sidecars: labels whatever it is given, or does what `answer` says.
  const handler: AdmissionHandler = {
    admit(req, { log, receivedAt }) {
      assert.equal(typeof log.info, 'function');
      assert.ok(receivedAt <= process.hrtime.bigint());
      seen.push(req);
      return answer(req);
    },
    rejected(r) {
      rejected.push(r);
    },
  };
  const labelIt = (): Promise<AdmissionOutcome> =>
    Promise.resolve({
      allowed: true,
      patch: [{ op: 'add', path: '/metadata/labels', value: { seen: 'yes' } }],
      warnings: ['labelled'],
    });

  before(async () => {
    certs = opensslServingCerts();
    server = await startWebhookServer(
      {
        handler,
        tls: memoryTlsSource(certs, logger),
        registry: createRegistry('handler_test', false),
        logger,
        ready: () => undefined,
        bodyLimitBytes: 16 * 1024,
      },
      0,
      '127.0.0.1',
    );
  });
  beforeEach(() => {
    seen.length = 0;
    rejected.length = 0;
    answer = labelIt;
  });
  after(async () => {
    await server.close();
  });

  it('hands the parsed request to the handler and sends back its outcome', async () => {
    const r = await post(server.port, certs.caCert, JSON.stringify(review(pod, 'u-1', 'shop')));
    assert.equal(r.status, 200);
    assert.equal(seen.length, 1);
    const [req] = seen;
    assert.ok(req);
    assert.equal(req.uid, 'u-1');
    assert.equal(req.namespace, 'shop');
    assert.equal(req.name, 'p');
    assert.deepEqual(req.kind, { group: '', version: 'v1', kind: 'Pod' });
    const res = responseOf(r.body);
    assert.equal(res['uid'], 'u-1');
    assert.equal(res['allowed'], true);
    assert.equal(res['patchType'], 'JSONPatch');
    assert.equal(typeof res['patch'], 'string');
    assert.deepEqual(JSON.parse(Buffer.from(res['patch'] as string, 'base64').toString()), [
      { op: 'add', path: '/metadata/labels', value: { seen: 'yes' } },
    ]);
    assert.deepEqual(res['warnings'], ['labelled']);
  });

  it("sends a handler's refusal with its code", async () => {
    answer = () =>
      Promise.resolve({ allowed: false, code: 403, message: 'not here', warnings: [] });
    const res = responseOf(
      (await post(server.port, certs.caCert, JSON.stringify(review(pod)))).body,
    );
    assert.equal(res['allowed'], false);
    assert.deepEqual(res['status'], { code: 403, message: 'not here', reason: 'BadRequest' });
  });

  it('answers a handler that throws with a failed admission (500), not a dropped request', async () => {
    answer = () => Promise.reject(new Error('handler exploded'));
    const r = await post(server.port, certs.caCert, JSON.stringify(review(pod, 'u-2')));
    assert.equal(r.status, 200);
    const res = responseOf(r.body);
    assert.equal(res['uid'], 'u-2');
    assert.equal(res['allowed'], false);
    assert.match(JSON.stringify(res['status']), /"code":500.*handler exploded/);
  });

  it('refuses bad input itself (the handler never sees it) and tells the handler', async () => {
    const cases: [string | Buffer, string, number][] = [
      ['{not json', 'application/json', 400],
      [JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }), 'application/json', 400],
      ['hello', 'text/plain', 415],
      [Buffer.alloc(32 * 1024, 'a'), 'application/json', 413],
    ];
    for (const [body, type, status] of cases) {
      assert.equal((await post(server.port, certs.caCert, body, type)).status, status);
    }
    assert.equal(seen.length, 0);
    assert.deepEqual(
      rejected.map((r) => r.status),
      [400, 400, 415, 413],
    );
    assert.ok(rejected.every((r) => r.message !== '' && r.seconds >= 0));
  });

  it('has no injection metrics of its own', async () => {
    await post(server.port, certs.caCert, JSON.stringify(review(pod)));
    await post(server.port, certs.caCert, '{not json');
    const m = await get(server.port, certs.caCert, '/metrics');
    assert.equal(m.status, 200);
    assert.doesNotMatch(m.body, /sidecar_injection/);
  });

  it('works with a handler that has no `rejected`', async () => {
    const bare = await startWebhookServer(
      {
        handler: { admit: () => Promise.resolve({ allowed: true, patch: [], warnings: [] }) },
        tls: memoryTlsSource(certs, logger),
        registry: createRegistry('bare_handler_test', false),
        logger,
        ready: () => undefined,
      },
      0,
      '127.0.0.1',
    );
    try {
      const ok = responseOf(
        (await post(bare.port, certs.caCert, JSON.stringify(review(pod)))).body,
      );
      assert.equal(ok['allowed'], true);
      assert.equal('patch' in ok, false);
      assert.equal((await post(bare.port, certs.caCert, '[1]')).status, 400);
    } finally {
      await bare.close();
    }
  });
});

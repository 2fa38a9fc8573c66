import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../lib/log.ts';
import { createRegistry } from '../lib/metrics.ts';
import { opensslServingCerts, type TestCerts } from '../lib/testing/openssl-certs.ts';
import type { WebhookServer } from './server.ts';
import { startDefaultWebhook } from './testing/default-server.ts';
import { productpageReview } from './testing/productpage-review.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';
const goldenPath = fileURLToPath(
  new URL('../testdata/webhook/productpage.response.json', import.meta.url),
);

const json = { 'content-type': 'application/json' };
const bom = Buffer.from([0xef, 0xbb, 0xbf]);

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

function send(
  port: number,
  ca: string,
  path: string,
  headers: Record<string, string>,
  body: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', ca, agent: false, headers },
      (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            body: data,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the webhook answers the bench review byte for byte (UPDATE_GOLDEN=1 regenerates)', () => {
  let certs: TestCerts;
  let server: WebhookServer;
  const review = productpageReview()('bench-0');

  before(async () => {
    certs = opensslServingCerts();
    const logger = createLogger('webhook-test', { level: 'silent' });
    const registry = createRegistry('webhook_golden_test', false);
    server = await startDefaultWebhook(certs, logger, registry);
  });
  after(async () => {
    await server.close();
  });

  it('matches testdata/webhook/productpage.response.json', async () => {
    const got = await send(server.port, certs.caCert, '/inject', json, review);
    assert.equal(got.status, 200);
    assert.equal(got.contentType, 'application/json; charset=utf-8');
    if (update) writeFileSync(goldenPath, got.body);
    assert.ok(existsSync(goldenPath), `missing ${goldenPath}: run with UPDATE_GOLDEN=1`);
    assert.equal(got.body, readFileSync(goldenPath, 'utf8'));
  });

  const variants: [string, string, Record<string, string>, string | Buffer][] = [
    ['a charset', '/inject', { 'content-type': 'application/json; charset=utf-8' }, review],
    ['an upper-case type', '/inject', { 'content-type': 'Application/JSON' }, review],
    ["the API server's timeout query", '/inject?timeout=10s', json, review],
    ['a trailing slash', '/inject/', json, review],
    ['a byte order mark', '/inject', json, Buffer.concat([bom, Buffer.from(review)])],
    [
      'a gzip body',
      '/inject',
      { ...json, 'content-encoding': 'gzip' },
      gzipSync(Buffer.from(review)),
    ],
  ];
  const badBodies: [string, string | Buffer][] = [
    ['non-JSON', '{not json'],
    ['an empty body after a byte order mark', bom],
    ['a JSON array', '[1,2]'],
    ['a string', '"x"'],
    ['the wrong kind', JSON.stringify({ apiVersion: 'v1', kind: 'Pod' })],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  ];
  for (const [name, body] of badBodies) {
    it(`refuses ${name} alike on the hot path and through express`, async () => {
      const hot = await send(server.port, certs.caCert, '/inject', json, body);
      const viaExpress = await send(server.port, certs.caCert, '/inject/', json, body);
      assert.equal(hot.status, 400);
      assert.deepEqual(hot, viaExpress);
    });
  }

  for (const [name, path, headers, body] of variants) {
    it(`answers the same with ${name}`, async () => {
      const got = await send(server.port, certs.caCert, path, headers, body);
      assert.equal(got.status, 200);
      assert.equal(got.contentType, 'application/json; charset=utf-8');
      assert.equal(got.body, readFileSync(goldenPath, 'utf8'));
    });
  }
});

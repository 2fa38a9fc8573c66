import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createServer as createTcpServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lifecycle } from '../lib/lifecycle.ts';
import { createLogger } from '../lib/log.ts';
import { createRegistry } from '../lib/metrics.ts';
import { opensslServingCerts, type TestCerts } from '../lib/testing/openssl-certs.ts';
import type { AdmissionHandler } from './admission-handler.ts';
import { startWebhookServer, type WebhookServer } from './server.ts';
import { get } from './testing/test-client.ts';
import { fileTlsSource, memoryTlsSource, type TlsSource } from './tls-source.ts';

const logger = createLogger('webhook-test', { level: 'silent' });
const allowAll: AdmissionHandler = {
  admit: () => Promise.resolve({ allowed: true, patch: [], warnings: [] }),
};
const fingerprint = (c: TestCerts) => new X509Certificate(c.cert).fingerprint256;

function startServer(tls: TlsSource, port = 0): Promise<WebhookServer> {
  return startWebhookServer(
    {
      handler: allowAll,
      tls,
      registry: createRegistry('tls_test', false),
      logger,
      ready: () => undefined,
    },
    port,
    '127.0.0.1',
  );
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('webhook TlsSource', () => {
  let first: TestCerts;
  let second: TestCerts;
  let both: string;
  before(() => {
    first = opensslServingCerts('first');
    second = opensslServingCerts('second');
    both = first.caCert + second.caCert;
  });

  it('a swap reaches the server: new connections get the new certificate, open ones keep theirs', async () => {
    const tls = memoryTlsSource(first, logger);
    const server = await startServer(tls);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: both });
    try {
      assert.equal((await get(server.port, both, '/healthz')).peerFingerprint, fingerprint(first));
      const kept = await get(server.port, both, '/healthz', agent);
      assert.equal(kept.peerFingerprint, fingerprint(first));

      tls.set(second);
      assert.equal((await get(server.port, both, '/healthz')).peerFingerprint, fingerprint(second));
      // The keep-alive connection opened before the swap is undisturbed.
      const again = await get(server.port, both, '/healthz', agent);
      assert.equal(again.status, 200);
      assert.equal(again.peerFingerprint, fingerprint(first));
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  it('refuses a key that does not match the certificate, and the server keeps serving', async () => {
    const tls = memoryTlsSource(first, logger);
    const server = await startServer(tls);
    try {
      assert.throws(() => {
        tls.set({ cert: second.cert, key: first.key });
      }, /key values mismatch/);
      assert.equal((await get(server.port, both, '/healthz')).peerFingerprint, fingerprint(first));
    } finally {
      await server.close();
    }
  });

  it('a closed server no longer follows its source', async () => {
    const tls = memoryTlsSource(first, logger);
    const server = await startServer(tls);
    assert.equal(tls.subscriberCount(), 1);
    await server.close();
    assert.equal(tls.subscriberCount(), 0);
  });

  describe('from files', () => {
    let dir: string;
    let certFile: string;
    let keyFile: string;
    const write = (cert: string, key: string) => {
      writeFileSync(certFile, cert);
      writeFileSync(keyFile, key);
    };
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
      certFile = join(dir, 'tls.crt');
      keyFile = join(dir, 'tls.key');
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves a rewritten pair to new connections, keeping the last good one over a mismatch', async () => {
      write(first.cert, first.key);
      const tls = await fileTlsSource({ certFile, keyFile, logger, intervalMs: 50 });
      const server = await startServer(tls);
      const served = async () => (await get(server.port, both, '/healthz')).peerFingerprint;
      try {
        assert.equal(await served(), fingerprint(first));
        write(second.cert, second.key);
        await waitFor(async () => (await served()) === fingerprint(second), 'the new certificate');

        // Half a rotation (a new certificate, the old key) is not taken.
        const third = opensslServingCerts('third');
        writeFileSync(certFile, third.cert);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await served(), fingerprint(second));
        assert.equal(tls.current().cert, second.cert);
        writeFileSync(keyFile, third.key);
        await waitFor(
          async () =>
            (await get(server.port, third.caCert, '/healthz')).peerFingerprint ===
            fingerprint(third),
          'the completed rotation',
        );
      } finally {
        await server.close();
        await tls.stop();
      }
    });

    it('will not start on a pair that is not usable, naming the files', async () => {
      write(second.cert, first.key);
      await assert.rejects(
        fileTlsSource({ certFile, keyFile, logger }),
        (e: Error) =>
          e.message.includes(certFile) &&
          e.message.includes(keyFile) &&
          /not a usable certificate and key/.test(e.message),
      );
    });
  });
});

describe('webhook server start and stop (the Lifecycle run.ts uses)', () => {
  let certs: TestCerts;
  before(() => {
    certs = opensslServingCerts();
  });

  it('a port already taken: the start rejects naming the address, and what started is stopped', async () => {
    const blocker = createTcpServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    const tls = memoryTlsSource(certs, logger);
    const stopped: string[] = [];
    try {
      await assert.rejects(
        Lifecycle.start(logger, async (life) => {
          life.add('tls', tls, (t) => {
            stopped.push('tls');
            return t.stop();
          });
          const server = life.add('server', await startServer(tls, port), (s) => {
            stopped.push('server');
            return s.close();
          });
          return { server };
        }),
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${String(port)}: address already in use`),
      );
      assert.deepEqual(stopped, ['tls']);
      assert.equal(tls.subscriberCount(), 0);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    // Nothing of ours is left on the port: with the blocker gone, connections are refused.
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve();
        });
        s.on('error', reject);
      }),
      /ECONNREFUSED/,
    );
  });

  it('close() stops once, server first, then its TlsSource', async () => {
    const tls = memoryTlsSource(certs, logger);
    const stopped: string[] = [];
    const running = await Lifecycle.start(logger, async (life) => {
      life.add('tls', tls, (t) => {
        stopped.push('tls');
        return t.stop();
      });
      const server = life.add('server', await startServer(tls), (s) => {
        stopped.push('server');
        return s.close();
      });
      return { server };
    });
    assert.equal((await get(running.server.port, certs.caCert, '/healthz')).status, 200);
    await Promise.all([running.close(), running.close()]);
    await running.close();
    assert.deepEqual(stopped, ['server', 'tls']);
    assert.equal(tls.subscriberCount(), 0);
    await assert.rejects(get(running.server.port, certs.caCert, '/healthz'), /ECONNREFUSED/);
  });
});

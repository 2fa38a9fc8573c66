import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { useLocalCluster } from './local-cluster.ts';
import { startTestWebhook } from './webhook-support.ts';

/**
 * The webhook's start and stop (webhook/run.ts on lib/lifecycle.ts), seen from outside: with a
 * 3 s certificate lifetime the self-managed rotation rewrites the Secret every 2 s, so a Secret
 * that stays the same shows the rotation timer (the TLS source) was stopped.
 */
describe('webhook start and stop on a real API server', function () {
  this.timeout(60_000);
  const env = useLocalCluster();

  const certOf = async (secretName: string): Promise<string> => {
    const s = await env.kc
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: secretName, namespace: 'istio-system' });
    return s.data?.['cert.pem'] ?? '';
  };
  const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('a port already taken: the start rejects naming the address and leaves nothing running', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    const secretName = 'webhook-lifecycle-taken';
    try {
      await assert.rejects(
        startTestWebhook(env.kc, {
          port,
          secretName,
          webhookConfigName: 'webhook-lifecycle-taken',
          webhookConfigLabel: undefined,
          certLifetimeMs: 3000,
        }),
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${String(port)}: address already in use`),
      );
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    const cert = await certOf(secretName);
    assert.notEqual(cert, '', 'the TLS source had started (wrote its Secret)');
    await quiet(4000);
    assert.equal(await certOf(secretName), cert, 'the rotation timer kept running');
  });

  it('close() stops everything once, whatever the number of calls', async () => {
    const secretName = 'webhook-lifecycle-close';
    const webhook = await startTestWebhook(env.kc, {
      secretName,
      webhookConfigName: 'webhook-lifecycle-close',
      webhookConfigLabel: undefined,
      certLifetimeMs: 3000,
    });
    await Promise.all([webhook.close(), webhook.close()]);
    await webhook.close();
    assert.equal(webhook.server.server.listening, false);
    const cert = await certOf(secretName);
    await quiet(4000);
    assert.equal(await certOf(secretName), cert, 'the rotation timer kept running');
  });
});

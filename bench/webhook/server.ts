/**
 * The server side of bench/webhook, run in its own process (pinned to one core by run.ts):
 * `inject` serves the real webhook (engine, patch, metrics, logs at warn level); `echo` is a bare
 * node:https server that reads the body and answers a fixed AdmissionReview, the floor any HTTPS
 * webhook in Node pays. Prints the port on stdout.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../lib/log.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { opensslServingCerts } from '../../lib/testing/openssl-certs.ts';
import { defaultInjectorConfig } from '../../webhook/config.ts';
import { createInjector } from '../../webhook/injector.ts';
import { createWebhookMetrics } from '../../webhook/metrics.ts';
import { startWebhookServer } from '../../webhook/server.ts';
import { memoryTlsSource } from '../../webhook/tls-source.ts';

const mode = process.argv[2];
const certs = opensslServingCerts('bench');

if (mode === 'echo') {
  const server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const uid = /"uid":"([^"]+)"/.exec(Buffer.concat(chunks).toString())?.[1] ?? '';
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
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${String((server.address() as AddressInfo).port)}\n`);
  });
} else if (mode === 'inject') {
  const registry = createRegistry('bench', false);
  const logger = createLogger('bench', { level: 'warn' });
  const s = await startWebhookServer(
    {
      handler: createInjector(
        {
          config: () => defaultInjectorConfig,
          mesh: () => defaultMeshConfig,
          namespaceLabels: () => Promise.resolve({ 'istio-injection': 'enabled' }),
          kubernetesVersion: () => ({ major: 1, minor: 32 }),
          failureMode: 'deny',
        },
        createWebhookMetrics(registry),
      ),
      tls: memoryTlsSource(certs, logger),
      registry,
      logger,
      ready: () => undefined,
    },
    0,
    '127.0.0.1',
  );
  process.stdout.write(`${String(s.port)}\n`);
} else {
  process.stderr.write('usage: server.ts inject|echo\n');
  process.exit(2);
}

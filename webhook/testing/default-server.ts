/**
 * The webhook as `istio-lite webhook` runs it with the default injector config, on a loopback
 * port with the given serving certificate, for tests and bench:webhook (which must measure the
 * same server the byte-for-byte response test holds to its golden file).
 */
import type { Logger } from '../../lib/log.ts';
import type { Registry } from '../../lib/metrics.ts';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import type { TestCerts } from '../../lib/testing/openssl-certs.ts';
import { defaultInjectorConfig } from '../config.ts';
import { createInjector } from '../injector.ts';
import { createWebhookMetrics } from '../metrics.ts';
import { startWebhookServer, type WebhookServer } from '../server.ts';
import { memoryTlsSource } from '../tls-source.ts';

/** Starts it on 127.0.0.1, a free port; every namespace is labelled for injection. */
export function startDefaultWebhook(
  certs: TestCerts,
  logger: Logger,
  registry: Registry,
): Promise<WebhookServer> {
  return startWebhookServer(
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
}

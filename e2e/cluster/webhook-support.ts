/** Helpers for the webhook's cluster tests: run the webhook in-process against a test cluster. */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { createLogger } from '../../lib/log.ts';
import { runWebhook, type RunningWebhook, type WebhookOptions } from '../../webhook/run.ts';
import { registerWebhook } from '../../cli/local-control-plane.ts';

export const quietLogger = createLogger('e2e', { level: process.env['E2E_LOG_LEVEL'] ?? 'silent' });

export async function startTestWebhook(
  kc: KubeConfig,
  over: Partial<WebhookOptions> = {},
): Promise<RunningWebhook> {
  const core = kc.makeApiClient(CoreV1Api);
  await core
    .createNamespace({ body: { metadata: { name: 'istio-system' } } })
    .catch(() => undefined);
  return runWebhook({
    kc,
    logger: quietLogger,
    port: 0,
    host: '127.0.0.1',
    namespace: 'istio-system',
    secretName: 'istio-sidecar-injector-certs',
    webhookConfigName: 'istio-sidecar-injector',
    webhookConfigLabel: 'app=istio-sidecar-injector',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    caLifetimeMs: 365 * 86_400_000,
    certLifetimeMs: 30 * 86_400_000,
    failureMode: 'deny',
    bodyLimitBytes: 6 * 1024 * 1024,
    ...over,
  });
}

export { registerWebhook };

export function simplePod(name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'app:1',
          readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
        },
      ],
    },
  };
}

export function containerNames(p: V1Pod): { init: string[]; main: string[] } {
  return {
    init: (p.spec?.initContainers ?? []).map((c) => c.name),
    main: (p.spec?.containers ?? []).map((c) => c.name),
  };
}

export function isInjected(p: V1Pod): boolean {
  const { init, main } = containerNames(p);
  return [...init, ...main].includes('istio-proxy');
}

/** Polls `check` until it returns true; a throwing check counts as not yet (and is retried). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

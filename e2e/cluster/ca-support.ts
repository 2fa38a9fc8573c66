/** Helpers for the CA's cluster-tier suites: a CA on loopback, ports 0, one namespace. */
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { parseCaConfig } from '../../ca/settings.ts';
import { runCa, type RunningCa } from '../../ca/run.ts';
import { isNotFound } from '../../lib/kube/client.ts';
import { createLogger } from '../../lib/log.ts';

/** Starts `istio-lite ca` in-process for `namespace` (its root Secrets and its only watched namespace). */
export function startCa(
  kc: KubeConfig,
  namespace: string,
  flags: Readonly<Record<string, string>> = {},
): Promise<RunningCa> {
  const config = parseCaConfig(
    {
      namespace,
      'listened-namespace': namespace,
      'grpc-host': '127.0.0.1',
      'grpc-port': '0',
      'grpc-hostname': 'localhost,127.0.0.1',
      'monitoring-host': '127.0.0.1',
      'monitoring-port': '0',
      ...flags,
    },
    {},
  );
  return runCa(config, kc, createLogger('ca-e2e', { level: process.env['LOG_LEVEL'] ?? 'silent' }));
}

export function secretText(secret: V1Secret, key: string): string {
  const v = secret.data?.[key];
  if (v === undefined) throw new Error(`Secret ${secret.metadata?.name ?? ''} has no ${key}`);
  return Buffer.from(v, 'base64').toString('utf8');
}

export async function readSecret(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<V1Secret | undefined> {
  try {
    return await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace, name });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export async function createServiceAccount(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
}

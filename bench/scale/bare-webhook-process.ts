/**
 * Starts bench:scale's bare webhook (./bare-webhook.ts: allows every pod unchanged) in its own
 * process with a serving certificate from openssl, and registers it for the same pods as the
 * injector (namespaces labelled istio-injection=enabled, pod CREATE). Its calls show in the API
 * server's histogram under BARE_WEBHOOK_NAME, beside the injector's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { applyObjects } from '../../lib/kube/apply.ts';
import { opensslServingCerts } from '../../lib/testing/openssl-certs.ts';
import { firstLine, stopChild } from '../pinned-process.ts';

export const BARE_WEBHOOK_NAME = 'bare.bench.istio-lite.io';

export interface BareWebhook {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly port: number;
}

export async function startBareWebhook(kc: KubeConfig, dir: string): Promise<BareWebhook> {
  const certs = opensslServingCerts('bench-bare-webhook');
  const cert = join(dir, 'bare-webhook.crt');
  const key = join(dir, 'bare-webhook.key');
  writeFileSync(cert, certs.cert);
  writeFileSync(key, certs.key, { mode: 0o600 });
  const proc = spawn(
    process.execPath,
    [new URL('./bare-webhook.ts', import.meta.url).pathname, cert, key],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (proc.pid === undefined) throw new Error('cannot start the bare webhook');
  try {
    const port = Number(await firstLine(proc));
    if (!Number.isInteger(port) || port <= 0)
      throw new Error(`bare webhook printed "${String(port)}"`);
    await register(kc, port, certs.caCert);
    return { proc, pid: proc.pid, port };
  } catch (e) {
    // Not yet handed to the bench's cleanup: stop it here.
    await stopChild(proc);
    throw e;
  }
}

function register(kc: KubeConfig, port: number, caCert: string): Promise<unknown> {
  return applyObjects(kc, [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'bench-bare-webhook' },
      webhooks: [
        {
          name: BARE_WEBHOOK_NAME,
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          timeoutSeconds: 10,
          clientConfig: {
            url: `https://127.0.0.1:${String(port)}/`,
            caBundle: Buffer.from(caCert).toString('base64'),
          },
          rules: [
            { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] },
          ],
          namespaceSelector: {
            matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }],
          },
        },
      ],
    },
  ]);
}

/**
 * The self-managed TlsSource, used when no certificate is mounted: the CA and serving certificate
 * live in a Secret (cert-store.ts, so every replica serves under one CA), the CA bundle is kept
 * patched into the MutatingWebhookConfiguration(s) (ca-bundle.ts), and a timer renews the
 * material at its renewal point (2/3 of a lifetime). A new CA reaches `caBundle` before any
 * certificate it signed is served, so rotation never fails an admission.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../lib/errors.ts';
import { Lifecycle } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/log.ts';
import { createCaBundlePatcher } from './ca-bundle.ts';
import { CertStore } from './cert-store.ts';
import type { WebhookSettings } from './settings.ts';
import { tlsSubscribers, type TlsMaterial, type TlsSource } from './tls-source.ts';

export interface SelfManagedTlsOptions extends Pick<
  WebhookSettings,
  | 'namespace'
  | 'secretName'
  | 'webhookConfigName'
  | 'webhookConfigLabel'
  | 'dnsNames'
  | 'ipAddresses'
  | 'caLifetimeMs'
  | 'certLifetimeMs'
> {
  readonly kc: KubeConfig;
  readonly logger: Logger;
  /** Wait after patching a new CA into caBundle before serving under it, ms (default 2000). */
  readonly caPropagationMs?: number;
}

export interface SelfManagedTlsSource extends TlsSource {
  /** The CA bundle clients must trust now (PEM, newest CA first). */
  caBundle(): string;
}

const maxTimerMs = 2 ** 31 - 1;

/**
 * Reads or creates the Secret, patches caBundle and starts the rotation timer; a failing step
 * stops what was started (the patcher's informer) before the error reaches the caller.
 */
export async function selfManagedTlsSource(
  o: SelfManagedTlsOptions,
): Promise<SelfManagedTlsSource> {
  const log = o.logger;
  const subscribers = tlsSubscribers(log);
  const running = await Lifecycle.start(log, async (life) => {
    const store = new CertStore({
      kc: o.kc,
      namespace: o.namespace,
      secretName: o.secretName,
      dnsNames: o.dnsNames,
      ipAddresses: o.ipAddresses,
      caLifetimeMs: o.caLifetimeMs,
      servingLifetimeMs: o.certLifetimeMs,
      logger: log,
    });
    let material = await store.ensure();
    const patcher = life.add(
      'caBundle patcher',
      createCaBundlePatcher({
        kc: o.kc,
        name: o.webhookConfigName,
        labelSelector: o.webhookConfigLabel,
        logger: log,
      }),
      (p) => p.stop(),
    );
    await patcher.start();
    await patcher.setBundle(material.caBundle);
    let tls: TlsMaterial = { cert: material.cert, key: material.key };
    let bundle = material.caBundle;

    let due = material.renewAt.getTime();
    let timer: NodeJS.Timeout | undefined;
    let rotating: Promise<void> | undefined;
    let stopped = false;
    const schedule = () => {
      if (stopped) return;
      const delay = Math.max(1000, Math.min(due - Date.now(), maxTimerMs));
      timer = setTimeout(() => {
        rotating = rotate().finally(() => {
          rotating = undefined;
        });
      }, delay);
    };
    const rotate = async () => {
      try {
        const next = await store.ensure();
        if (next.caBundle !== material.caBundle) {
          await patcher.setBundle(next.caBundle);
          bundle = next.caBundle;
          // Let the API server see the new CA before serving under it.
          await new Promise((r) => setTimeout(r, o.caPropagationMs ?? 2000));
        }
        material = next;
        due = next.renewAt.getTime();
        tls = { cert: next.cert, key: next.key };
        subscribers.publish(tls);
        log.info({ renewAt: next.renewAt.toISOString() }, 'serving certificate rotated');
      } catch (e) {
        log.error({ error: errorMessage(e) }, 'certificate rotation failed; retrying');
        due = Date.now() + 5000;
      }
      schedule();
    };
    schedule();
    life.onStop('certificate rotation', async () => {
      stopped = true;
      clearTimeout(timer);
      // A rotation under way finishes (its Secret write is not cut in half) but schedules no other.
      await rotating;
    });

    return {
      current: () => tls,
      subscribe: (l: (t: TlsMaterial) => void) => subscribers.subscribe(l),
      caBundle: () => bundle,
    };
  });
  return {
    current: () => running.current(),
    subscribe: (l) => running.subscribe(l),
    caBundle: () => running.caBundle(),
    stop: () => running.close(),
  };
}

/**
 * Keeps `caBundle` patched into the webhook's MutatingWebhookConfiguration(s), found by name or
 * by label, and re-patches whenever something resets it (a `helm upgrade`, a `kubectl apply`): an
 * informer on MutatingWebhookConfigurations sees every change.
 */
import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { errorMessage } from '../lib/errors.ts';
import { isConflict, isNotFound } from '../lib/kube/client.ts';
import { createInformer, type Informer } from '../lib/kube/informer.ts';
import type { Logger } from '../lib/log.ts';

export interface CaBundlePatcherOptions {
  readonly kc: KubeConfig;
  /** Configurations with this name are patched… */
  readonly name: string;
  /** …and those matching this label selector (e.g. `app=istio-sidecar-injector`), if given. */
  readonly labelSelector?: string | undefined;
  readonly logger: Logger;
}

export interface CaBundlePatcher {
  /** Sets the bundle (PEM) and patches every matching configuration now. */
  setBundle(pem: string): Promise<void>;
  /** How many configurations currently carry the bundle. */
  patchedCount(): number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createCaBundlePatcher(opts: CaBundlePatcherOptions): CaBundlePatcher {
  const api = opts.kc.makeApiClient(AdmissionregistrationV1Api);
  const log = opts.logger.child({ component: 'ca-bundle' });
  let bundle = '';
  const matches = (c: V1MutatingWebhookConfiguration): boolean => {
    if (c.metadata?.name === opts.name) return true;
    if (opts.labelSelector === undefined) return false;
    const labels = c.metadata?.labels ?? {};
    return opts.labelSelector.split(',').every((kv) => {
      const [k, v] = kv.split('=');
      return k !== undefined && labels[k] === v;
    });
  };
  const informer: Informer<V1MutatingWebhookConfiguration> = createInformer({
    kc: opts.kc,
    path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
    list: (o) => api.listMutatingWebhookConfiguration(o),
    objectType: 'V1MutatingWebhookConfiguration',
    logger: opts.logger,
    name: 'mutatingwebhookconfigurations',
  });

  const encoded = () => Buffer.from(bundle).toString('base64');

  async function patch(c: V1MutatingWebhookConfiguration): Promise<void> {
    const name = c.metadata?.name;
    if (name === undefined || bundle === '') return;
    const want = encoded();
    const ops = (c.webhooks ?? []).flatMap((w, i) => {
      const current = w.clientConfig.caBundle as unknown;
      const have =
        typeof current === 'string'
          ? current
          : Buffer.isBuffer(current)
            ? current.toString('base64')
            : '';
      return have === want
        ? []
        : [
            { op: 'test', path: `/webhooks/${i}/name`, value: w.name },
            { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want },
          ];
    });
    if (ops.length === 0) return;
    try {
      await api.patchMutatingWebhookConfiguration({ name, body: ops });
      log.info({ configuration: name, webhooks: ops.length / 2 }, 'caBundle patched');
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // gone, or changed: the informer brings it back
      log.error({ configuration: name, error: errorMessage(e) }, 'caBundle patch failed');
    }
  }

  const onChange = (c: V1MutatingWebhookConfiguration) => {
    if (matches(c)) void patch(c);
  };
  informer.on('add', onChange);
  informer.on('update', onChange);

  return {
    async setBundle(pem) {
      bundle = pem;
      await Promise.all(
        informer
          .list()
          .filter(matches)
          .map((c) => patch(c)),
      );
    },
    patchedCount() {
      const want = encoded();
      return informer
        .list()
        .filter(matches)
        .filter((c) =>
          (c.webhooks ?? []).every((w) => {
            const v = w.clientConfig.caBundle as unknown;
            return (
              (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('base64') : '') === want
            );
          }),
        ).length;
    },
    async start() {
      informer.start();
      await informer.synced();
    },
    stop: () => informer.stop(),
  };
}

/**
 * Watching the root Secrets at run time: when `cacerts` is added or changed (or, without it,
 * `istio-ca-secret` is replaced), the CA switches to the new signing material without a restart.
 * Bad new content is logged and the current root kept: a typo in a Secret never stops issuance.
 * Not used when the signing material comes from flags (files are read at start only).
 */
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { errorMessage } from '../lib/errors.ts';
import { createInformer, type Informer } from '../lib/kube/informer.ts';
import type { Logger } from '../lib/log.ts';
import { loadKeyCertBundle, type KeyCertBundle } from './key-cert-bundle.ts';
import { CaSecret, pemFromSecret } from './root-store.ts';

export interface RootWatchOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly pluggedSecretName: string;
  /** The bundle in use now. */
  readonly current: () => KeyCertBundle;
  /** Called with a new, checked bundle and where it came from. */
  readonly onChange: (bundle: KeyCertBundle, source: string) => void;
  readonly logger: Logger;
}

export interface RootWatch {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function watchRoot(opts: RootWatchOptions): RootWatch {
  const { namespace, logger } = opts;
  const core = opts.kc.makeApiClient(CoreV1Api);
  const informer: Informer<V1Secret> = createInformer({
    kc: opts.kc,
    path: `/api/v1/namespaces/${namespace}/secrets`,
    list: (o) => core.listNamespacedSecret({ ...o, namespace }),
    objectType: 'V1Secret',
    logger,
    name: 'ca-root-secrets',
  });
  const names = new Set<string>([opts.pluggedSecretName, CaSecret.SelfSignedName]);

  const check = () => {
    const plugged = informer.get(namespace, opts.pluggedSecretName);
    const self = informer.get(namespace, CaSecret.SelfSignedName);
    const secret = plugged ?? self;
    if (secret === undefined) {
      logger.warn({ namespace }, 'no root Secret found; keeping the current root');
      return;
    }
    const source = `Secret ${namespace}/${secret.metadata?.name ?? ''}`;
    try {
      const bundle = loadKeyCertBundle(pemFromSecret(secret, source), source);
      if (bundle.signingCert.raw.equals(opts.current().signingCert.raw)) return;
      opts.onChange(bundle, source);
    } catch (e) {
      logger.error(
        { source, err: errorMessage(e) },
        'new root Secret is not usable; keeping the current root',
      );
    }
  };
  const onEvent = (s: V1Secret) => {
    if (names.has(s.metadata?.name ?? '') && informer.hasSynced()) check();
  };
  informer.on('add', onEvent);
  informer.on('update', onEvent);
  informer.on('delete', onEvent);

  return {
    async start() {
      informer.start();
      await informer.synced();
      check();
    },
    stop: () => informer.stop(),
  };
}

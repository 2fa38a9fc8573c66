/**
 * `kubernetes://<namespace>/<name>` secrets for SDS in router mode: the TLS Secrets of `istio`
 * Ingresses, which Pilot names in the ingress gateway's TLS listener. The first request for a name
 * starts an informer on that one Secret (a field selector on its name), so the gateway reads only
 * Secrets it was asked for; every change is handed to listeners (SDS pushes it). A Secret that is
 * missing or holds no certificate and key is not served (SDS waits) and logged once until it
 * appears. Accepted keys: `tls.crt`/`tls.key` (type kubernetes.io/tls) or `cert`/`key`.
 *
 * The KubeConfig is made on first use, so an agent never asked for such a secret never reads one.
 */
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { errorMessage } from '../../lib/errors.ts';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import type { Logger } from '../../lib/log.ts';

import { KubernetesSecretPrefix, type NamedSecretSource, type TlsSecret } from './named-secrets.ts';

export { KubernetesSecretPrefix, type NamedSecretSource, type TlsSecret };

export interface KubeSecretSourceOptions {
  /** Made on the first request for a `kubernetes://` name. */
  readonly kubeConfig: () => KubeConfig;
  readonly logger: Logger;
}

interface Watched {
  readonly informer: Informer<V1Secret> | undefined;
  secret: TlsSecret | undefined;
  warned: boolean;
}

/** `kubernetes://ns/name` → [ns, name], or undefined when it is not that shape. */
export function parseKubernetesSecretName(name: string): [string, string] | undefined {
  if (!name.startsWith(KubernetesSecretPrefix)) return undefined;
  const m = /^([a-z0-9][a-z0-9-]*)\/([a-z0-9][a-z0-9.-]*)$/.exec(
    name.slice(KubernetesSecretPrefix.length),
  );
  const [, ns, secret] = m ?? [];
  return ns !== undefined && secret !== undefined ? [ns, secret] : undefined;
}

function decoded(data: Readonly<Record<string, string>>, key: string): string | undefined {
  const v = data[key];
  return v === undefined || v === '' ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

/** The certificate and key a Secret holds, or undefined. */
export function tlsFromSecret(s: V1Secret): TlsSecret | undefined {
  const data = s.data ?? {};
  const chainPem = decoded(data, 'tls.crt') ?? decoded(data, 'cert');
  const keyPem = decoded(data, 'tls.key') ?? decoded(data, 'key');
  return chainPem === undefined || keyPem === undefined ? undefined : { chainPem, keyPem };
}

export class KubeSecretSource implements NamedSecretSource {
  private readonly o: KubeSecretSourceOptions;
  private readonly log: Logger;
  private readonly watched = new Map<string, Watched>();
  private readonly listeners: ((name: string) => void)[] = [];
  private core: CoreV1Api | undefined;
  private kc: KubeConfig | undefined;
  private closed = false;

  constructor(o: KubeSecretSourceOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'sds-kube-secrets' });
  }

  handles(name: string): boolean {
    return name.startsWith(KubernetesSecretPrefix);
  }

  get(name: string): TlsSecret | undefined {
    const w = this.watched.get(name) ?? this.watch(name);
    return w.secret;
  }

  onChange(listener: (name: string) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.watched.values()];
    this.watched.clear();
    await Promise.all(all.flatMap((w) => (w.informer ? [w.informer.stop()] : [])));
  }

  private warnOnce(w: Watched, fields: Record<string, unknown>, message: string): void {
    if (w.warned) return;
    w.warned = true;
    this.log.warn(fields, message);
  }

  private watch(name: string): Watched {
    const parsed = parseKubernetesSecretName(name);
    const api = parsed && !this.closed ? this.api() : undefined;
    if (!parsed || !api) {
      const w: Watched = { informer: undefined, secret: undefined, warned: false };
      this.watched.set(name, w);
      if (!parsed) this.warnOnce(w, { secret: name }, 'not a kubernetes://<namespace>/<name>');
      return w;
    }
    const [namespace, secretName] = parsed;
    const informer = createInformer<V1Secret>({
      kc: api.kc,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      list: (o) => api.core.listNamespacedSecret({ namespace, ...o }),
      fieldSelector: `metadata.name=${secretName}`,
      objectType: 'V1Secret',
      logger: this.log,
      name: `secret-${namespace}-${secretName}`,
    });
    const w: Watched = { informer, secret: undefined, warned: false };
    this.watched.set(name, w);
    const set = (s: V1Secret | undefined) => {
      const next = s ? tlsFromSecret(s) : undefined;
      if (s && !next) {
        this.warnOnce(
          w,
          { secret: name },
          'Secret holds no tls.crt/tls.key (or cert/key); not served',
        );
      }
      if (next?.chainPem === w.secret?.chainPem && next?.keyPem === w.secret?.keyPem) return;
      w.secret = next;
      if (next) {
        w.warned = false;
        this.log.info({ secret: name }, 'serving Kubernetes TLS Secret over SDS');
      } else this.log.warn({ secret: name }, 'Kubernetes TLS Secret gone; no longer pushed');
      for (const l of this.listeners) l(name);
    };
    informer.on('add', (s) => {
      set(s);
    });
    informer.on('update', (s) => {
      set(s);
    });
    informer.on('delete', () => {
      set(undefined);
    });
    informer.start();
    informer.synced().then(
      () => {
        if (!w.secret && !informer.get(namespace, secretName))
          this.warnOnce(w, { secret: name }, 'Kubernetes Secret not found; SDS waits for it');
      },
      (e: unknown) => {
        this.log.warn({ secret: name, error: errorMessage(e) }, 'Secret informer failed');
      },
    );
    return w;
  }

  private api(): { kc: KubeConfig; core: CoreV1Api } | undefined {
    try {
      this.kc ??= this.o.kubeConfig();
      this.core ??= this.kc.makeApiClient(CoreV1Api);
      return { kc: this.kc, core: this.core };
    } catch (e) {
      this.log.error(
        { error: errorMessage(e) },
        'no Kubernetes credentials; kubernetes:// secrets cannot be served',
      );
      return undefined;
    }
  }
}

/**
 * Bootstrap tokens kept in Secrets (format in bootstrap-tokens.ts): an informer on the Secrets of
 * type `istio-lite.io/bootstrap-token` in the CA's namespace (a field selector, so no other
 * Secret is ever listed or cached). A malformed Secret is skipped with one warning naming it and
 * the field (again only when it changes); it never stops the CA. A deleted Secret's token is
 * refused from the next request on.
 */
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { BootstrapTokenSecret as S, parseRfc3339 } from '../lib/ca/bootstrap-token-secret.ts';
import { FieldReader } from '../lib/config/field-reader.ts';
import { errorMessage } from '../lib/errors.ts';
import { createInformer } from '../lib/kube/informer.ts';
import type { Logger } from '../lib/log.ts';
import type { BootstrapToken } from './bootstrap-tokens.ts';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** One Secret's token: the hash and what it may request. Throws a FieldError naming the key. */
export function parseBootstrapTokenSecret(secret: V1Secret): readonly [string, BootstrapToken] {
  const source = `Secret ${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    data[k] = Buffer.from(v, 'base64').toString('utf8').trim();
  }
  const r = new FieldReader(data, { path: 'data', what: `bootstrap token ${source}` });
  const node = r.requiredString(S.Node);
  const namespace = r.requiredString(S.Namespace);
  const serviceAccount = r.requiredString(S.ServiceAccount);
  const sha256 = r.requiredString(S.TokenSha256).toLowerCase();
  const expiration = r.string(S.Expiration, '');
  r.string(S.Description, '');
  if (!dnsLabel.test(namespace) || namespace.length > 63) {
    r.fail(S.Namespace, `"${namespace}" is not a namespace name`);
  }
  if (!dnsSubdomain.test(serviceAccount) || serviceAccount.length > 253) {
    r.fail(S.ServiceAccount, `"${serviceAccount}" is not a ServiceAccount name`);
  }
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    r.fail(S.TokenSha256, 'must be 64 hex digits (the SHA-256 of the token)');
  }
  const expiresAt = expiration === '' ? undefined : parseRfc3339(expiration);
  if (expiration !== '' && expiresAt === undefined) {
    r.fail(S.Expiration, `"${expiration}" is not an RFC 3339 time like 2026-12-31T00:00:00Z`);
  }
  r.done();
  return [
    sha256,
    {
      node,
      namespace,
      serviceAccount,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      source,
    },
  ];
}

export interface BootstrapTokenSecretsOptions {
  readonly kc: KubeConfig;
  /** The CA's namespace. */
  readonly namespace: string;
  readonly logger: Logger;
}

export interface BootstrapTokenSecrets {
  /** Starts the informer; resolves after the first list. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The well-formed Secrets' tokens; a new array after every change. */
  current(): readonly (readonly [string, BootstrapToken])[];
}

export function watchBootstrapTokenSecrets(
  opts: BootstrapTokenSecretsOptions,
): BootstrapTokenSecrets {
  const { namespace, logger } = opts;
  const core = opts.kc.makeApiClient(CoreV1Api);
  const fieldSelector = `type=${S.Type}`;
  const informer = createInformer<V1Secret>({
    kc: opts.kc,
    path: `/api/v1/namespaces/${namespace}/secrets`,
    list: (o) => core.listNamespacedSecret({ ...o, namespace }),
    fieldSelector,
    objectType: 'V1Secret',
    logger,
    name: 'bootstrap-token-secrets',
  });
  const parsed = new Map<string, readonly [string, BootstrapToken]>();
  /** The problem last logged per Secret, so an unchanged bad Secret is warned about once. */
  const warned = new Map<string, string>();
  let snapshot: readonly (readonly [string, BootstrapToken])[] = [];
  const publish = () => {
    snapshot = [...parsed.values()];
  };

  const upsert = (s: V1Secret) => {
    const name = s.metadata?.name ?? '';
    if (s.type !== S.Type) return;
    try {
      const entry = parseBootstrapTokenSecret(s);
      const had = parsed.has(name);
      parsed.set(name, entry);
      warned.delete(name);
      logger.info(
        {
          secret: `${namespace}/${name}`,
          node: entry[1].node,
          identity: `${entry[1].namespace}/${entry[1].serviceAccount}`,
          expiresAt: entry[1].expiresAt,
        },
        had ? 'bootstrap token Secret updated' : 'bootstrap token Secret loaded',
      );
    } catch (e) {
      parsed.delete(name);
      const problem = errorMessage(e);
      if (warned.get(name) !== problem) {
        warned.set(name, problem);
        logger.warn(
          { secret: `${namespace}/${name}`, err: problem },
          'bootstrap token Secret is malformed; skipped',
        );
      }
    }
    publish();
  };
  informer.on('add', upsert);
  informer.on('update', upsert);
  informer.on('delete', (s) => {
    const name = s.metadata?.name ?? '';
    warned.delete(name);
    if (parsed.delete(name)) {
      logger.info({ secret: `${namespace}/${name}` }, 'bootstrap token Secret deleted');
      publish();
    }
  });

  return {
    async start() {
      informer.start();
      await informer.synced();
    },
    stop: () => informer.stop(),
    current: () => snapshot,
  };
}

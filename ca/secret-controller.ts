/**
 * The Secret controller: for every ServiceAccount outside the excluded namespaces, Secret
 * `istio.<sa>` holding a key and a leaf for `spiffe://<td>/ns/<ns>/sa/<sa>`. It is (re)written when
 * missing, invalid, issued by another root, or past its renewal point, and deleted with its
 * ServiceAccount. Informers on ServiceAccounts and on Secrets of type istio.io/key-and-cert feed a
 * work queue keyed `namespace/serviceAccount`; each key's next renewal is scheduled on the queue.
 * Writes carry the resourceVersion they were based on, so two replicas never overwrite each
 * other blindly: the loser of a conflict re-reads and finds the winner's Secret good.
 */
import {
  CoreV1Api,
  type KubeConfig,
  type V1Secret,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import { errorMessage } from '../lib/errors.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../lib/kube/client.ts';
import { createInformer, type Informer } from '../lib/kube/informer.ts';
import type { Logger } from '../lib/log.ts';
import { generateKeys, spkiDer, type KeyAlgorithm } from '../lib/pki/keys.ts';
import { spiffeId } from '../lib/pki/spiffe.ts';
import type { CertificateAuthority } from './authority.ts';
import type { CaMetrics } from './metrics.ts';
import { WorkQueue } from './work-queue.ts';
import {
  WorkloadSecret,
  buildWorkloadSecret,
  checkWorkloadSecret,
  serviceAccountOf,
  workloadSecretName,
} from './workload-secret.ts';

export interface SecretControllerOptions {
  readonly kc: KubeConfig;
  readonly authority: CertificateAuthority;
  readonly trustDomain: string;
  readonly excludedNamespaces: readonly string[];
  /** Watch only this namespace (0.2's --listened-namespace); all namespaces when absent. */
  readonly listenedNamespace?: string;
  readonly ttlMs: number;
  /** Renew when this fraction of the lifetime has passed (0 < ratio < 1). */
  readonly graceRatio: number;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly metrics: CaMetrics;
  readonly logger: Logger;
}

export interface SecretController {
  start(): Promise<void>;
  /** True once both informers have listed. */
  synced(): boolean;
  /** Re-checks every ServiceAccount (after the root changed). */
  resyncAll(): void;
  /** Resolves when no work is queued or running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

function split(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

export function createSecretController(opts: SecretControllerOptions): SecretController {
  const { kc, authority, logger } = opts;
  const log = logger.child({ controller: 'secrets' });
  const core = kc.makeApiClient(CoreV1Api);
  const excluded = new Set(opts.excludedNamespaces);
  const listened = opts.listenedNamespace;
  const base = listened === undefined ? '/api/v1' : `/api/v1/namespaces/${listened}`;

  const accounts: Informer<V1ServiceAccount> = createInformer({
    kc,
    path: `${base}/serviceaccounts`,
    list: (o) =>
      listened === undefined
        ? core.listServiceAccountForAllNamespaces(o)
        : core.listNamespacedServiceAccount({ ...o, namespace: listened }),
    objectType: 'V1ServiceAccount',
    logger,
    name: 'ca-serviceaccounts',
  });
  const secrets: Informer<V1Secret> = createInformer({
    kc,
    path: `${base}/secrets`,
    fieldSelector: `type=${WorkloadSecret.Type}`,
    list: (o) =>
      listened === undefined
        ? core.listSecretForAllNamespaces(o)
        : core.listNamespacedSecret({ ...o, namespace: listened }),
    objectType: 'V1Secret',
    logger,
    name: 'ca-workload-secrets',
  });

  async function write(
    ns: string,
    sa: string,
    existing: V1Secret | undefined,
    uid: string | undefined,
  ): Promise<void> {
    const keys = await generateKeys(opts.keyAlgorithm);
    const identity = spiffeId({ trustDomain: opts.trustDomain, namespace: ns, serviceAccount: sa });
    const resourceVersion = existing?.metadata?.resourceVersion;
    const issued = authority.issueWorkload(spkiDer(keys.publicKey), identity, opts.ttlMs);
    const body = buildWorkloadSecret(
      ns,
      sa,
      {
        certChainPem: issued.chainPem.filter((c) => c !== authority.rootPem).join(''),
        keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        rootPem: authority.rootPem,
      },
      {
        ...(uid === undefined ? {} : { ownerUid: uid }),
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
      },
    );
    if (resourceVersion !== undefined) {
      await core.replaceNamespacedSecret({ namespace: ns, name: workloadSecretName(sa), body });
    } else {
      await core.createNamespacedSecret({ namespace: ns, body });
    }
  }

  async function reconcile(key: string): Promise<void> {
    const [ns, sa] = split(key);
    const name = workloadSecretName(sa);
    const account = accounts.get(ns, sa);
    const secret = secrets.get(ns, name);
    if (account === undefined || excluded.has(ns)) {
      queue.forget(key);
      if (secret !== undefined && serviceAccountOf(secret) === sa) {
        try {
          const uid = secret.metadata?.uid;
          await core.deleteNamespacedSecret({
            namespace: ns,
            name,
            ...(uid ? { body: { preconditions: { uid } } } : {}),
          });
          log.info(
            { namespace: ns, serviceAccount: sa },
            'deleted the Secret of a removed ServiceAccount',
          );
        } catch (e) {
          if (!isNotFound(e) && !isConflict(e)) throw e;
        }
      }
      return;
    }
    const identity = spiffeId({ trustDomain: opts.trustDomain, namespace: ns, serviceAccount: sa });
    const cause = ((): string | undefined => {
      if (secret === undefined) return 'created';
      const v = checkWorkloadSecret(secret, {
        identity,
        rootPem: authority.rootPem,
        graceRatio: opts.graceRatio,
        now: new Date(),
      });
      if (v.ok) {
        queue.after(key, v.renewAt.getTime() - Date.now());
        return undefined;
      }
      log.info(
        { namespace: ns, serviceAccount: sa, cause: v.cause, why: v.why },
        'Secret needs a new certificate',
      );
      return v.cause;
    })();
    if (cause === undefined) return;
    try {
      await write(ns, sa, secret, account.metadata?.uid);
    } catch (e) {
      // Another writer got there first (a replica, or our own earlier write not yet in the cache):
      // the informer event that follows re-queues the key and the check finds that Secret.
      if (isConflict(e) || isAlreadyExists(e)) {
        log.debug({ namespace: ns, serviceAccount: sa }, 'Secret changed meanwhile; re-checking');
        return;
      }
      opts.metrics.secretErrors.inc();
      throw e;
    }
    opts.metrics.secretWrites.inc({ cause });
    log.info({ namespace: ns, serviceAccount: sa, secret: name, cause }, 'Secret written');
  }

  // Nothing is reconciled until both caches are full: a Secret seen before its ServiceAccount
  // must not look orphaned.
  const queue = new WorkQueue({
    paused: true,
    process: reconcile,
    onError: (key, err, attempt) => {
      log.warn({ key, attempt, err: errorMessage(err) }, 'Secret reconcile failed; retrying');
    },
  });

  const enqueueAccount = (a: V1ServiceAccount) => {
    const ns = a.metadata?.namespace;
    const n = a.metadata?.name;
    if (ns !== undefined && n !== undefined) queue.add(`${ns}/${n}`);
  };
  const enqueueSecret = (s: V1Secret) => {
    const ns = s.metadata?.namespace;
    const sa = serviceAccountOf(s);
    if (ns !== undefined && sa !== undefined) queue.add(`${ns}/${sa}`);
  };
  accounts.on('add', enqueueAccount);
  accounts.on('update', enqueueAccount);
  accounts.on('delete', enqueueAccount);
  secrets.on('add', enqueueSecret);
  secrets.on('update', enqueueSecret);
  secrets.on('delete', enqueueSecret);

  return {
    async start() {
      secrets.start();
      accounts.start();
      await Promise.all([secrets.synced(), accounts.synced()]);
      queue.resume();
      log.info(
        { serviceAccounts: accounts.list().length, secrets: secrets.list().length },
        'Secret controller synced',
      );
    },
    synced: () => accounts.hasSynced() && secrets.hasSynced(),
    resyncAll() {
      for (const a of accounts.list()) enqueueAccount(a);
    },
    idle: () => queue.idle(),
    async stop() {
      await Promise.all([accounts.stop(), secrets.stop()]);
      await queue.stop();
    },
  };
}

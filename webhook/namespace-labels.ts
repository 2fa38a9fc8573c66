/**
 * Namespace labels for the injector, from an informer cache. A namespace created a moment before
 * its first pod may not be in the cache yet: a miss reads it from the API server once.
 */
import { CoreV1Api, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { isNotFound } from '../lib/kube/client.ts';
import { createInformer, type Informer } from '../lib/kube/informer.ts';
import type { Logger } from '../lib/log.ts';

export interface NamespaceLabels {
  labels(namespace: string): Promise<Readonly<Record<string, string>>>;
  /** Undefined when ready; else why not. */
  notReady(): string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function namespaceLabelsFromCluster(kc: KubeConfig, logger: Logger): NamespaceLabels {
  const core = kc.makeApiClient(CoreV1Api);
  const informer: Informer<V1Namespace> = createInformer<V1Namespace>({
    kc,
    path: '/api/v1/namespaces',
    list: (o) => core.listNamespace(o),
    objectType: 'V1Namespace',
    logger,
    name: 'namespaces',
  });
  return {
    async labels(namespace) {
      const cached = informer.get(undefined, namespace);
      if (cached) return cached.metadata?.labels ?? {};
      try {
        const ns = await core.readNamespace({ name: namespace });
        return ns.metadata?.labels ?? {};
      } catch (e) {
        if (isNotFound(e)) return {};
        throw e;
      }
    },
    notReady: () => (informer.hasSynced() ? undefined : 'namespace cache not synced'),
    async start() {
      informer.start();
      await informer.synced();
    },
    stop: () => informer.stop(),
  };
}

/**
 * Mixer's config from the API server: one resilient informer per config kind (rules, templates,
 * every registered adapter) over all namespaces, feeding the config controller. Objects are
 * untrusted and raw (CustomObjectsApi); the controller validates them.
 */
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import type { Logger } from '../../lib/log.ts';
import type { ConfigController } from '../config/controller.ts';
import { ConfigGroup, ConfigVersion, type ConfigObject } from '../config/objects.ts';
import { pluralOf } from './crds.ts';

type RawObject = KubernetesObject & { spec?: unknown };

export interface KubeConfigSource {
  /** Resolves when every kind has been listed once. */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

export function toConfigObject(kind: string, o: RawObject): ConfigObject {
  const md = o.metadata ?? {};
  return {
    kind,
    namespace: md.namespace ?? 'default',
    name: md.name ?? '',
    spec: o.spec ?? {},
    source: `${kind}/${md.namespace ?? ''}/${md.name ?? ''}`,
    ...(md.uid ? { uid: md.uid } : {}),
  };
}

function asList(v: unknown, what: string): KubernetesListObject<RawObject> {
  if (typeof v !== 'object' || v === null || !Array.isArray((v as { items?: unknown }).items)) {
    throw new IstioLiteError(ErrorCode.External, `list ${what}: the response has no items`);
  }
  return v as KubernetesListObject<RawObject>;
}

export function watchConfig(options: {
  readonly kc: KubeConfig;
  readonly kinds: readonly string[];
  readonly controller: ConfigController;
  readonly logger: Logger;
}): KubeConfigSource {
  const api = options.kc.makeApiClient(CustomObjectsApi);
  const informers: Informer<RawObject>[] = options.kinds.map((kind) => {
    const plural = pluralOf(kind);
    const informer = createInformer<RawObject>({
      kc: options.kc,
      path: `/apis/${ConfigGroup}/${ConfigVersion}/${plural}`,
      list: async (o) =>
        asList(
          await api.listClusterCustomObject({
            group: ConfigGroup,
            version: ConfigVersion,
            plural,
            ...o,
          }),
          plural,
        ),
      logger: options.logger,
      name: `mixer-${plural}`,
    });
    const upsert = (o: RawObject) => {
      options.controller.upsert(toConfigObject(kind, o));
    };
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', (o) => {
      options.controller.remove(toConfigObject(kind, o));
    });
    return informer;
  });
  for (const i of informers) i.start();
  return {
    async synced() {
      await Promise.all(informers.map((i) => i.synced()));
    },
    async stop() {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

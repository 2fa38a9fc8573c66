/**
 * An informer on one kind of custom object (raw objects through CustomObjectsApi, all
 * namespaces) that treats a CRD not installed as "no objects of that kind": it logs that once,
 * counts as synced and empty, and the failing watch keeps relisting (with backoff) until the CRD
 * appears, when the kind is picked up. Pilot serves a mesh whatever CRDs the cluster has.
 */
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { isNotFound } from '../../lib/kube/client.ts';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import type { BackoffOptions } from '../../lib/kube/object-store.ts';
import type { Logger } from '../../lib/log.ts';

export type RawObject = KubernetesObject & { spec?: unknown; status?: unknown };

export interface CustomObjectInformerOptions {
  readonly kc: KubeConfig;
  readonly logger: Logger;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  /** The informer's name in logs and metrics. */
  readonly name: string;
  readonly backoff?: Partial<BackoffOptions>;
}

function asList(v: unknown, what: string): KubernetesListObject<RawObject> {
  if (typeof v !== 'object' || v === null || !Array.isArray((v as { items?: unknown }).items)) {
    throw new IstioLiteError(ErrorCode.External, `list ${what}: the response has no items`);
  }
  return v as KubernetesListObject<RawObject>;
}

export function customObjectInformer(o: CustomObjectInformerOptions): Informer<RawObject> {
  const api = o.kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = o;
  const crd = `${plural}.${group}`;
  let missing = false;
  return createInformer<RawObject>({
    kc: o.kc,
    logger: o.logger,
    ...(o.backoff ? { backoff: o.backoff } : {}),
    path: `/apis/${group}/${version}/${plural}`,
    list: async (opts) => {
      try {
        const list = asList(
          await api.listClusterCustomObject({ group, version, plural, ...opts }),
          plural,
        );
        if (missing) o.logger.info({ crd }, 'CRD installed; watching it');
        missing = false;
        return list;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        if (!missing) {
          missing = true;
          o.logger.info({ crd }, 'CRD not installed: no objects of this kind until it is');
        }
        return { items: [], metadata: { resourceVersion: '' } };
      }
    },
    name: o.name,
  });
}

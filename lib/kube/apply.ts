/**
 * Server-side apply of raw objects (any kind), as `kubectl apply --server-side` does: creates or
 * updates, owned by a field manager, with conflicts forced to this manager.
 */
import {
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { JsonObject } from '../json.ts';

export async function applyObjects(
  kc: KubeConfig,
  objects: readonly JsonObject[],
  fieldManager = 'istio-lite',
): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const out: KubernetesObject[] = [];
  for (const o of objects) {
    const spec = o as KubernetesObject;
    out.push(
      await api.patch(
        spec,
        undefined,
        undefined,
        fieldManager,
        true,
        PatchStrategy.ServerSideApply,
      ),
    );
  }
  return out;
}

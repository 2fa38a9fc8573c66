/**
 * Server-side apply of raw objects (any kind), as `kubectl apply --server-side` does: creates or
 * updates, owned by a field manager, conflicts forced to it. The objects go to the API server as
 * they are (lib/kube/raw.ts): a CRD keeps its `enum` and `x-kubernetes-validations`. Resource
 * paths come from API discovery, refreshed when a kind was just created by a CRD.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { isObject, type JsonObject } from '../json.ts';
import { kubeRequest } from './raw.ts';

interface Resource {
  readonly plural: string;
  readonly namespaced: boolean;
}

const discovery = new WeakMap<KubeConfig, Map<string, Map<string, Resource>>>();

async function discover(kc: KubeConfig, apiVersion: string): Promise<Map<string, Resource>> {
  const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const res = await kubeRequest(kc, 'GET', path);
  const byKind = new Map<string, Resource>();
  if (res.status !== 200) return byKind;
  const v: unknown = JSON.parse(res.body);
  const list = isObject(v) && Array.isArray(v['resources']) ? v['resources'] : [];
  for (const r of list) {
    if (!isObject(r) || typeof r['name'] !== 'string' || r['name'].includes('/')) continue;
    if (typeof r['kind'] === 'string')
      byKind.set(r['kind'], { plural: r['name'], namespaced: r['namespaced'] === true });
  }
  return byKind;
}

async function resourceFor(kc: KubeConfig, apiVersion: string, kind: string): Promise<Resource> {
  let cache = discovery.get(kc);
  if (cache === undefined) {
    cache = new Map<string, Map<string, Resource>>();
    discovery.set(kc, cache);
  }
  const deadline = Date.now() + 15_000;
  for (;;) {
    const known = cache.get(apiVersion)?.get(kind);
    if (known !== undefined) return known;
    cache.set(apiVersion, await discover(kc, apiVersion));
    const found = cache.get(apiVersion)?.get(kind);
    if (found !== undefined) return found;
    // A kind whose CRD was applied a moment ago appears once the CRD is established.
    if (Date.now() > deadline) {
      throw new IstioLiteError(
        ErrorCode.External,
        `the API server does not serve ${kind} in ${apiVersion}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function applyObjects(
  kc: KubeConfig,
  objects: readonly JsonObject[],
  fieldManager = 'istio-lite',
): Promise<KubernetesObject[]> {
  const out: KubernetesObject[] = [];
  for (const o of objects) {
    const meta = isObject(o['metadata']) ? o['metadata'] : {};
    const apiVersion = typeof o['apiVersion'] === 'string' ? o['apiVersion'] : '';
    const kind = typeof o['kind'] === 'string' ? o['kind'] : '';
    const name = typeof meta['name'] === 'string' ? meta['name'] : '';
    if (apiVersion === '' || kind === '' || name === '') {
      throw new IstioLiteError(
        ErrorCode.InvalidObject,
        'apply: an object needs apiVersion, kind and metadata.name',
      );
    }
    const r = await resourceFor(kc, apiVersion, kind);
    const ns = typeof meta['namespace'] === 'string' ? meta['namespace'] : 'default';
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const path = `${base}${r.namespaced ? `/namespaces/${ns}` : ''}/${r.plural}/${encodeURIComponent(name)}`;
    const query = `?fieldManager=${encodeURIComponent(fieldManager)}&force=true`;
    const res = await kubeRequest(
      kc,
      'PATCH',
      path + query,
      JSON.stringify(o),
      'application/apply-patch+yaml',
    );
    if (res.status < 200 || res.status >= 300) {
      let message = res.body;
      try {
        const v: unknown = JSON.parse(res.body);
        if (isObject(v) && typeof v['message'] === 'string') message = v['message'];
      } catch {
        // not JSON: keep the text
      }
      throw new IstioLiteError(
        ErrorCode.External,
        `apply ${kind} ${name}: HTTP ${res.status}: ${message}`,
      );
    }
    out.push(JSON.parse(res.body) as KubernetesObject);
  }
  return out;
}

/**
 * What `istio-lite analyze` looks at: the cluster's objects (namespaces, services, pods, ingresses,
 * the injector's webhook configuration and config map, every `config.istio.io` kind the API server
 * serves) and the files given with `-f`, the files' objects taking the place of the cluster's of
 * the same kind, namespace and name, as if applied. Pod templates in the files count as the pods
 * they will become. Each object remembers where it came from, for the report.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { isObject, stringMap, type JsonObject } from '../lib/json.ts';
import { parseYamlDocuments } from '../lib/yaml.ts';
import { kubeGet } from './kube-read.ts';

export interface Workload {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface AnalyzeInput {
  readonly objects: readonly JsonObject[];
  /** `kind/namespace/name` → where it came from (`file.yaml#2`, `cluster`). */
  readonly sources: ReadonlyMap<string, string>;
  /** Pods (cluster) and pod templates (files). */
  readonly workloads: readonly Workload[];
  /** Whether a cluster was read (its webhook configurations are known). */
  readonly sawCluster: boolean;
  /** The `istio-sidecar-injector` ConfigMap, when the cluster has one. */
  readonly injectorConfigMap: JsonObject | undefined;
  /** Namespaces the files put objects in. */
  readonly fileNamespaces: ReadonlySet<string>;
}

export function objectKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function meta(o: JsonObject): { name: string; namespace: string } {
  const md = isObject(o['metadata']) ? o['metadata'] : {};
  return {
    name: typeof md['name'] === 'string' ? md['name'] : '',
    namespace: typeof md['namespace'] === 'string' ? md['namespace'] : '',
  };
}

const keyOf = (o: JsonObject) => {
  const m = meta(o);
  const kind = o['kind'];
  return objectKey(typeof kind === 'string' ? kind : '', m.namespace, m.name);
};

const clusterScoped = new Set([
  'Namespace',
  'MutatingWebhookConfiguration',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
]);

function yamlFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new IstioLiteError(ErrorCode.InvalidInput, `-f ${path}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

/** The objects of the files (a `List` gives its items), with the namespace kubectl would use. */
export function readFiles(
  paths: readonly string[],
  defaultNamespace: string,
): { objects: JsonObject[]; sources: Map<string, string> } {
  const objects: JsonObject[] = [];
  const sources = new Map<string, string>();
  for (const file of paths.flatMap(yamlFiles)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new IstioLiteError(ErrorCode.InvalidInput, `-f ${file}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    for (const doc of parseYamlDocuments(text, file)) {
      const where = `${file}#${String(doc.index)}`;
      const v = doc.value;
      if (!isObject(v) || typeof v['kind'] !== 'string') {
        throw new IstioLiteError(
          ErrorCode.InvalidInput,
          `${where}: not a Kubernetes object (no kind)`,
        );
      }
      const items =
        v['kind'] === 'List' && Array.isArray(v['items']) ? v['items'].filter(isObject) : [v];
      for (const item of items) {
        const md = isObject(item['metadata']) ? item['metadata'] : undefined;
        if (typeof item['kind'] !== 'string' || !md || typeof md['name'] !== 'string') {
          throw new IstioLiteError(
            ErrorCode.InvalidInput,
            `${where}: kind and metadata.name are required`,
          );
        }
        const kind = item['kind'];
        const o: JsonObject = clusterScoped.has(kind)
          ? item
          : {
              ...item,
              metadata: {
                ...md,
                namespace: typeof md['namespace'] === 'string' ? md['namespace'] : defaultNamespace,
              },
            };
        objects.push(o);
        sources.set(keyOf(o), where);
      }
    }
  }
  return { objects, sources };
}

/** A workload's pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, …). */
function podTemplate(o: JsonObject): JsonObject | undefined {
  const spec = isObject(o['spec']) ? o['spec'] : undefined;
  const template = isObject(spec?.['template']) ? spec['template'] : undefined;
  if (template) return template;
  const job = isObject(spec?.['jobTemplate']) ? spec['jobTemplate'] : undefined;
  const jobSpec = isObject(job?.['spec']) ? job['spec'] : undefined;
  return isObject(jobSpec?.['template']) ? jobSpec['template'] : undefined;
}

export function workloadsOf(objects: readonly JsonObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    const m = meta(o);
    const source = o['kind'] === 'Pod' ? o : podTemplate(o);
    if (!source) continue;
    const md = isObject(source['metadata']) ? source['metadata'] : {};
    out.push({ namespace: m.namespace, name: m.name, labels: stringMap(md['labels']) ?? {} });
  }
  return out;
}

/** Lists a resource; items get the kind and apiVersion the list's items lack. */
async function list(
  kc: KubeConfig,
  path: string,
  kind: string,
  apiVersion: string,
): Promise<JsonObject[]> {
  const l = await kubeGet(kc, path, true);
  if (!isObject(l) || !Array.isArray(l['items'])) return [];
  return l['items'].filter(isObject).map((i) => ({ ...i, kind, apiVersion }));
}

/** Every kind the API server serves in config.istio.io/v1alpha2 (Pilot's, Mixer's, users'). */
async function istioKinds(kc: KubeConfig): Promise<{ plural: string; kind: string }[]> {
  const d = await kubeGet(kc, '/apis/config.istio.io/v1alpha2', true);
  if (!isObject(d) || !Array.isArray(d['resources'])) return [];
  return d['resources']
    .filter(isObject)
    .flatMap((r) =>
      typeof r['name'] === 'string' && !r['name'].includes('/') && typeof r['kind'] === 'string'
        ? [{ plural: r['name'], kind: r['kind'] }]
        : [],
    );
}

export async function readCluster(
  kc: KubeConfig,
  istioNamespace: string,
): Promise<{ objects: JsonObject[]; injectorConfigMap: JsonObject | undefined }> {
  const core = [
    ['/api/v1/namespaces', 'Namespace'],
    ['/api/v1/services', 'Service'],
    ['/api/v1/pods', 'Pod'],
  ] as const;
  const lists = await Promise.all([
    ...core.map(([p, k]) => list(kc, p, k, 'v1')),
    list(kc, '/apis/networking.k8s.io/v1/ingresses', 'Ingress', 'networking.k8s.io/v1'),
    list(
      kc,
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
      'MutatingWebhookConfiguration',
      'admissionregistration.k8s.io/v1',
    ),
    ...(await istioKinds(kc)).map((k) =>
      list(kc, `/apis/config.istio.io/v1alpha2/${k.plural}`, k.kind, 'config.istio.io/v1alpha2'),
    ),
  ]);
  const cm = await kubeGet(
    kc,
    `/api/v1/namespaces/${istioNamespace}/configmaps/istio-sidecar-injector`,
    true,
  );
  return { objects: lists.flat(), injectorConfigMap: isObject(cm) ? cm : undefined };
}

/** The cluster's objects (when `kc`) with the files' laid over them. */
export async function analyzeInput(o: {
  readonly kc: KubeConfig | undefined;
  readonly files: readonly string[];
  readonly defaultNamespace: string;
  readonly istioNamespace: string;
}): Promise<AnalyzeInput> {
  const files = readFiles(o.files, o.defaultNamespace);
  const cluster = o.kc
    ? await readCluster(o.kc, o.istioNamespace)
    : { objects: [], injectorConfigMap: undefined };
  const byKey = new Map<string, JsonObject>();
  const sources = new Map<string, string>();
  for (const c of cluster.objects) {
    byKey.set(keyOf(c), c);
    sources.set(keyOf(c), 'cluster');
  }
  for (const f of files.objects) byKey.set(keyOf(f), f);
  for (const [k, s] of files.sources) sources.set(k, s);
  const objects = [...byKey.values()];
  const fromFiles = new Set(files.sources.keys());
  const clusterPods = cluster.objects.filter(
    (x) => x['kind'] === 'Pod' && !fromFiles.has(keyOf(x)),
  );
  return {
    objects,
    sources,
    workloads: [...workloadsOf(clusterPods), ...workloadsOf(files.objects)],
    sawCluster: o.kc !== undefined,
    injectorConfigMap: cluster.injectorConfigMap,
    fileNamespaces: new Set(files.objects.map((x) => meta(x).namespace).filter((n) => n !== '')),
  };
}

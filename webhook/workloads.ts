/**
 * Where the pod lives in each kind: a Pod is its own template; Deployments and friends hold
 * `spec.template`; a CronJob holds `spec.jobTemplate.spec.template`; a List holds items. Other kinds
 * have no pod and pass through untouched.
 */
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { isObject, type JsonObject } from '../lib/json.ts';

/** Path from the object to its pod template (metadata + spec); empty for a Pod. */
const templatePaths: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  // OpenShift's DeploymentConfig has the same shape.
  DeploymentConfig: ['spec', 'template'],
};

export const workloadKinds = Object.keys(templatePaths);

export interface PodTemplateRef {
  readonly kind: string;
  /** `namespace/name` of the owning object, for messages. */
  readonly name: string;
  /** The object's namespace, if set. */
  readonly namespace: string | undefined;
  /** JSON Pointer segments from the document root to the template. */
  readonly path: readonly (string | number)[];
  /** The template's metadata and spec (live references into the document). */
  readonly metadata: JsonObject;
  readonly spec: JsonObject;
}

function describeObject(obj: JsonObject): {
  kind: string;
  name: string;
  namespace: string | undefined;
} {
  const kind = typeof obj['kind'] === 'string' ? obj['kind'] : '(no kind)';
  const meta = isObject(obj['metadata']) ? obj['metadata'] : {};
  const name =
    typeof meta['name'] === 'string'
      ? meta['name']
      : typeof meta['generateName'] === 'string'
        ? `${meta['generateName']}*`
        : '(no name)';
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : undefined;
  return { kind, name, namespace };
}

/**
 * Finds the pod templates in `root` (a live reference: the refs point into it). Missing
 * `metadata` on a template is created; a missing or malformed `spec` is an error naming the field.
 */
export function findPodTemplates(root: JsonObject): PodTemplateRef[] {
  const out: PodTemplateRef[] = [];
  visit(root, [], out);
  return out;
}

function visit(obj: JsonObject, prefix: (string | number)[], out: PodTemplateRef[]): void {
  const { kind, name, namespace } = describeObject(obj);
  if (kind === 'List' || kind.endsWith('List')) {
    const items = obj['items'];
    if (!Array.isArray(items)) return;
    items.forEach((item, i) => {
      if (isObject(item)) visit(item, [...prefix, 'items', i], out);
    });
    return;
  }
  const path = templatePaths[kind];
  if (path === undefined) return;
  const where = `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
  let node: JsonObject = obj;
  let field = '';
  for (const seg of path) {
    field = field ? `${field}.${seg}` : seg;
    const next = node[seg];
    if (!isObject(next)) {
      throw new IstioLiteError(
        ErrorCode.InvalidObject,
        `${where}: ${field} is missing or not an object`,
      );
    }
    node = next;
  }
  if (node['metadata'] === undefined || node['metadata'] === null) node['metadata'] = {};
  const metadata = node['metadata'];
  const spec = node['spec'];
  const specField = field ? `${field}.spec` : 'spec';
  if (!isObject(metadata)) {
    throw new IstioLiteError(
      ErrorCode.InvalidObject,
      `${where}: ${field ? `${field}.` : ''}metadata is not an object`,
    );
  }
  if (!isObject(spec)) {
    throw new IstioLiteError(
      ErrorCode.InvalidObject,
      `${where}: ${specField} is missing or not an object`,
    );
  }
  out.push({ kind, name, namespace, path: [...prefix, ...path], metadata, spec });
}

/**
 * `npm start`'s wait for the examples: the cluster's controllers make the pods (the webhook injects
 * each on its way in), the scheduler places them and the simulated nodes run them. Ready when each
 * Deployment and StatefulSet has all its replicas ready and each Job has a pod that ran; then the
 * pods of the examples' namespaces, as the API server holds them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { isObject, type JsonObject } from '../lib/json.ts';

interface Workload {
  readonly kind: 'Deployment' | 'StatefulSet' | 'Job';
  readonly name: string;
  readonly namespace: string;
}

function workloadsOf(objects: readonly JsonObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    const kind = o['kind'];
    if (kind !== 'Deployment' && kind !== 'StatefulSet' && kind !== 'Job') continue;
    const meta = isObject(o['metadata']) ? o['metadata'] : {};
    const name = typeof meta['name'] === 'string' ? meta['name'] : '';
    const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : 'default';
    out.push({ kind, name, namespace });
  }
  return out;
}

/** What `w` still lacks; undefined when it is running. */
async function waiting(kc: KubeConfig, w: Workload): Promise<string | undefined> {
  const id = { name: w.name, namespace: w.namespace };
  if (w.kind === 'Job') {
    const job = await kc.makeApiClient(BatchV1Api).readNamespacedJob(id);
    const s = job.status;
    const ran = (s?.succeeded ?? 0) + (s?.ready ?? 0) + (s?.failed ?? 0) > 0;
    return ran ? undefined : `Job ${w.name}: no pod has run yet`;
  }
  const apps = kc.makeApiClient(AppsV1Api);
  const obj =
    w.kind === 'Deployment'
      ? await apps.readNamespacedDeployment(id)
      : await apps.readNamespacedStatefulSet(id);
  const want = obj.spec?.replicas ?? 1;
  const ready = obj.status?.readyReplicas ?? 0;
  return ready >= want ? undefined : `${w.kind} ${w.name}: ${ready} of ${want} ready`;
}

/** Waits for the examples' workloads (see the file comment); returns their namespaces' pods. */
export async function waitForExamples(
  kc: KubeConfig,
  objects: readonly JsonObject[],
  timeoutMs: number,
): Promise<V1Pod[]> {
  const workloads = workloadsOf(objects);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await Promise.all(workloads.map((w) => waiting(kc, w)))).filter(
      (x): x is string => x !== undefined,
    );
    if (left.length === 0) break;
    if (Date.now() > deadline) {
      throw new IstioLiteError(
        ErrorCode.External,
        `the examples were not running after ${timeoutMs} ms: ${left.join('; ')}`,
      );
    }
    await sleep(250);
  }
  const core = kc.makeApiClient(CoreV1Api);
  const namespaces = [...new Set(workloadsOf(objects).map((w) => w.namespace))];
  for (const o of objects) {
    const meta = isObject(o['metadata']) ? o['metadata'] : {};
    if (o['kind'] === 'Pod' && typeof meta['namespace'] === 'string')
      namespaces.push(meta['namespace']);
  }
  const pods: V1Pod[] = [];
  for (const namespace of [...new Set(namespaces)].sort()) {
    pods.push(...(await core.listNamespacedPod({ namespace })).items);
  }
  return pods.sort((a, b) =>
    `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`.localeCompare(
      `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`,
    ),
  );
}

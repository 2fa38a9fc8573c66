/**
 * The AdmissionReview bench/webhook sends and the response golden test checks: a CREATE of the
 * productpage pod (the pod template of examples/10-productpage.yaml) in namespace `demo`, as the
 * ReplicaSet controller would ask for it.
 */
import { readFileSync } from 'node:fs';
import { isObject, type JsonObject } from '../../lib/json.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';

function productpagePod(): JsonObject {
  const text = readFileSync(new URL('../../examples/10-productpage.yaml', import.meta.url), 'utf8');
  const deployment = parseYamlDocuments(text)
    .map((d) => d.value)
    .find((v) => isObject(v) && v['kind'] === 'Deployment');
  const template =
    isObject(deployment) && isObject(deployment['spec'])
      ? deployment['spec']['template']
      : undefined;
  if (!isObject(template)) throw new Error('no pod template in examples/10-productpage.yaml');
  return { apiVersion: 'v1', kind: 'Pod', ...template };
}

/** Returns a function giving the review's JSON text for a uid. */
export function productpageReview(): (uid: string) => string {
  const pod = productpagePod();
  return (uid) =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'demo',
        operation: 'CREATE',
        userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
        object: pod,
      },
    });
}

/**
 * bench:scale's mesh: `services` Services spread over `namespaces` namespaces labelled for
 * injection, each with its own ServiceAccount and a Deployment of `replicas` pods (app port 8080
 * with a readiness probe, so the webhook rewrites it); written in parallel batches, as a deploy
 * tool would. Everything carries the label `istio-lite-bench=scale` (the EndpointSlice controller
 * copies a Service's labels onto its slices), which is what the trackers watch.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { isAlreadyExists } from '../../lib/kube/client.ts';

export const benchLabel = { 'istio-lite-bench': 'scale' } as const;
export const benchSelector = 'istio-lite-bench=scale';
const width = 48;

export interface MeshShape {
  readonly services: number;
  readonly namespaces: number;
}

export const namespaceOf = (i: number, shape: MeshShape): string =>
  `bench-${String(i % shape.namespaces)}`;
export const serviceName = (i: number): string => `svc-${String(i)}`;
/** Envoy's name of service `i`'s outbound cluster (and load assignment) on port 80. */
export const clusterOf = (i: number, shape: MeshShape): string =>
  `outbound|80||${serviceName(i)}.${namespaceOf(i, shape)}.svc.cluster.local`;

/** Runs `f` for 0..n-1, `width` at a time. */
export async function inParallel(n: number, f: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await f(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

const ignoreExists = (e: unknown) => {
  if (!isAlreadyExists(e)) throw e;
};

export async function createNamespaces(kc: KubeConfig, shape: MeshShape): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await inParallel(shape.namespaces, (n) =>
    core
      .createNamespace({
        body: {
          metadata: {
            name: `bench-${String(n)}`,
            labels: { ...benchLabel, 'istio-injection': 'enabled' },
          },
        },
      })
      .catch(ignoreExists),
  );
}

export async function createServiceAccounts(kc: KubeConfig, shape: MeshShape): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await inParallel(shape.services, (i) =>
    core
      .createNamespacedServiceAccount({
        namespace: namespaceOf(i, shape),
        body: { metadata: { name: serviceName(i), labels: { ...benchLabel } } },
      })
      .catch(ignoreExists),
  );
}

export async function createServices(kc: KubeConfig, shape: MeshShape): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await inParallel(shape.services, (i) =>
    core
      .createNamespacedService({
        namespace: namespaceOf(i, shape),
        body: {
          metadata: { name: serviceName(i), labels: { ...benchLabel, app: serviceName(i) } },
          spec: {
            selector: { app: serviceName(i) },
            ports: [{ name: 'http', port: 80, targetPort: 8080 }],
          },
        },
      })
      .catch(ignoreExists),
  );
}

export async function createDeployments(
  kc: KubeConfig,
  shape: MeshShape,
  replicas: number,
): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  await inParallel(shape.services, (i) => {
    const labels = { ...benchLabel, app: serviceName(i) };
    return apps
      .createNamespacedDeployment({
        namespace: namespaceOf(i, shape),
        body: {
          metadata: { name: serviceName(i), labels },
          spec: {
            replicas,
            selector: { matchLabels: { app: serviceName(i) } },
            template: {
              metadata: { labels },
              spec: {
                serviceAccountName: serviceName(i),
                containers: [
                  {
                    name: 'app',
                    image: 'example/app:1',
                    ports: [{ containerPort: 8080 }],
                    readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
                  },
                ],
              },
            },
          },
        },
      })
      .catch(ignoreExists);
  });
}

export function scale(
  kc: KubeConfig,
  shape: MeshShape,
  i: number,
  replicas: number,
): Promise<unknown> {
  return kc.makeApiClient(AppsV1Api).patchNamespacedDeploymentScale({
    name: serviceName(i),
    namespace: namespaceOf(i, shape),
    body: [{ op: 'replace', path: '/spec/replicas', value: replicas }],
  });
}

export async function scaleAll(kc: KubeConfig, shape: MeshShape, replicas: number): Promise<void> {
  await inParallel(shape.services, (i) => scale(kc, shape, i, replicas));
}

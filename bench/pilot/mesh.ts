/**
 * The bench's mesh as Kubernetes objects, the same for every server the bench measures:
 * `services` Services in ten namespaces, each with one EndpointSlice of `endpoints` ready
 * endpoints over three zones (no pods behind them, as a Service with hand-written slices). Four
 * in five Services are HTTP on port 80 (endpoints on 8080), the rest gRPC on 9000, so both
 * listener chains and route configurations are real.
 */
import type { V1Endpoint, V1EndpointSlice, V1ObjectMeta, V1Service } from '@kubernetes/client-node';

export interface BenchMesh {
  readonly services: number;
  readonly endpoints: number;
}

export const namespaces = 10;

export function namespaceOf(i: number): string {
  return `bench-${String(i % namespaces)}`;
}

export function serviceName(i: number): string {
  return `svc-${String(i)}`;
}

function ip(base: number, n: number): string {
  return `${String(base)}.${String((n >> 16) & 255)}.${String((n >> 8) & 255)}.${String(n & 255)}`;
}

interface PortSpec {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number;
}

function portOf(i: number): PortSpec {
  return i % 5 === 4
    ? { name: 'grpc', port: 9000, targetPort: 9000 }
    : { name: 'http', port: 80, targetPort: 8080 };
}

/** The cluster name both Istio and istio-lite give service `i`'s port. */
export function clusterOf(i: number): string {
  return `outbound|${String(portOf(i).port)}||${serviceName(i)}.${namespaceOf(i)}.svc.cluster.local`;
}

/** The route configuration names sidecars ask for (one per HTTP port: 80 and gRPC's 9000). */
export const routeNames = ['80', '9000'] as const;

export function benchService(i: number): V1Service {
  const p = portOf(i);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName(i), namespace: namespaceOf(i), labels: { app: serviceName(i) } },
    spec: { ports: [{ name: p.name, port: p.port, targetPort: p.targetPort, protocol: 'TCP' }] },
  };
}

/** Service `i`'s endpoint addresses; after change `version` (> 0) the first one has moved. */
export function endpointAddresses(i: number, m: BenchMesh, version = 0): string[] {
  return Array.from({ length: m.endpoints }, (_, j) => {
    const n = i * m.endpoints + j;
    return j === 0 && version > 0 ? ip(11, n + version * 1_000_000) : ip(100, n);
  });
}

/** The address the moved endpoint of service `i` has after change `version`. */
export function movedAddress(i: number, m: BenchMesh, version: number): string {
  return endpointAddresses(i, m, version)[0] ?? '';
}

export function sliceName(i: number): string {
  return `${serviceName(i)}-bench`;
}

/** Service `i`'s slice; `metadata`: the current one's (with its resourceVersion), for a replace. */
export function benchSlice(
  i: number,
  m: BenchMesh,
  version = 0,
  metadata?: V1ObjectMeta,
): V1EndpointSlice {
  const p = portOf(i);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: metadata ?? {
      name: sliceName(i),
      namespace: namespaceOf(i),
      labels: {
        'kubernetes.io/service-name': serviceName(i),
        'endpointslice.kubernetes.io/managed-by': 'bench.istio-lite',
      },
    },
    addressType: 'IPv4',
    ports: [{ name: p.name, port: p.targetPort, protocol: 'TCP' }],
    endpoints: endpointAddresses(i, m, version).map((a, j): V1Endpoint => ({
      addresses: [a],
      conditions: { ready: true },
      zone: `z${String(j % 3)}`,
    })),
  };
}

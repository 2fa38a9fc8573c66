/**
 * The bench's mesh, the same in Pilot's process and the clients': `services` services in ten
 * namespaces, each with `endpoints` endpoints over three zones. Four in five services are HTTP
 * on port 80, the rest gRPC on 9000 (so both listener chains and route configurations are real).
 */
import { MemoryRegistry } from '../../pilot/model/memory-registry.ts';
import type { Endpoint, Service } from '../../pilot/model/service.ts';
import { endpoint, service } from '../../pilot/testing/fixtures.ts';

export interface BenchMesh {
  readonly services: number;
  readonly endpoints: number;
}

export const namespaces = 10;

function ip(base: number, n: number): string {
  return `${base}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export function benchService(i: number): Service {
  const ports: Record<string, number> = i % 5 === 4 ? { grpc: 9000 } : { http: 80 };
  return service(`svc-${i}`, `bench-${i % namespaces}`, ports, ip(10, i + 1));
}

export function benchEndpoints(i: number, m: BenchMesh, version = 0): Endpoint[] {
  const svc = benchService(i);
  const port = svc.ports[0];
  if (!port) return [];
  const out: Endpoint[] = [];
  for (let j = 0; j < m.endpoints; j++) {
    // `version` moves the first endpoint: the change the bench times.
    const n = i * m.endpoints + j + (j === 0 ? version * 1_000_000 : 0);
    out.push(
      endpoint(
        ip(j === 0 && version > 0 ? 11 : 100, n),
        port.port === 80 ? 8080 : 9000,
        port.name,
        {
          locality: { region: 'r1', zone: `z${j % 3}`, subzone: '' },
          serviceAccount: `sa-${i}`,
        },
      ),
    );
  }
  return out;
}

export function benchRegistry(m: BenchMesh): MemoryRegistry {
  const r = new MemoryRegistry();
  r.batch((b) => {
    for (let i = 0; i < m.services; i++) {
      const svc = benchService(i);
      b.setService(svc);
      b.setEndpoints(svc.hostname, benchEndpoints(i, m));
    }
  });
  return r;
}

/** The address the moved endpoint of service `i` has after change `version`. */
export function movedAddress(i: number, m: BenchMesh, version: number): string {
  return benchEndpoints(i, m, version)[0]?.address ?? '';
}

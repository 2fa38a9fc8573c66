/**
 * The CA's gRPC services, `istio.v1.auth.IstioCertificateService` (modern) and
 * `istio.v1.auth.IstioCAService` (0.2), loaded once from lib/ca/proto. Shared by the CA (which
 * serves them) and its clients (the VM node agent and the pod agent).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadServices } from '../grpc/services.ts';

export const CertificateServiceName = 'istio.v1.auth.IstioCertificateService';
export const CaServiceName = 'istio.v1.auth.IstioCAService';

function protoDir(): string {
  // Next to this module in the source tree; from dist/lib/ca, the source tree's copy.
  for (const rel of ['./proto', '../../../lib/ca/proto']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('lib/ca/proto not found');
}

let services: Map<string, ServiceDefinition> | undefined;

export function caServices(): { certificate: ServiceDefinition; legacy: ServiceDefinition } {
  services ??= loadServices(
    protoDir(),
    ['istio/v1/auth/ca.proto', 'istio/v1/auth/ca_service.proto'],
    [CertificateServiceName, CaServiceName],
  );
  const certificate = services.get(CertificateServiceName);
  const legacy = services.get(CaServiceName);
  if (!certificate || !legacy) throw new Error('CA services missing');
  return { certificate, legacy };
}

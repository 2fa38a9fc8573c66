/**
 * The CA's gRPC services: `istio.v1.auth.IstioCertificateService` (modern) and
 * `istio.v1.auth.IstioCAService` (0.2), loaded once from ca/proto, and the narrowing of their
 * decoded requests (untrusted input) into typed values.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadServices } from '../lib/grpc/services.ts';
import { isObject } from '../lib/json.ts';
import { CaRefusal, RefusalReason } from './refusal.ts';

export const CertificateServiceName = 'istio.v1.auth.IstioCertificateService';
export const CaServiceName = 'istio.v1.auth.IstioCAService';

function protoDir(): string {
  // Next to this module in the source tree; from dist/ca, the source tree's ca/proto.
  for (const rel of ['./proto', '../../ca/proto']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('ca/proto not found');
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

export interface CreateCertificateRequest {
  readonly csr: string;
  /** Requested lifetime in seconds (0 = default). */
  readonly validitySeconds: number;
}

function badRequest(message: string): CaRefusal {
  return new CaRefusal(RefusalReason.BadCsr, message);
}

export function parseCreateCertificateRequest(v: unknown): CreateCertificateRequest {
  if (!isObject(v)) throw badRequest('request is not a message');
  const csr = v['csr'];
  const ttl = v['validity_duration'] ?? 0;
  if (typeof csr !== 'string' || csr === '')
    throw badRequest('csr is empty: send a PEM PKCS#10 request');
  if (typeof ttl !== 'number' || !Number.isFinite(ttl))
    throw badRequest('validity_duration is not a number');
  return { csr, validitySeconds: ttl };
}

/** The 0.2 `Request`: `csr_pem` bytes. */
export function parseLegacyRequest(v: unknown): { readonly csr: string } {
  if (!isObject(v)) throw badRequest('request is not a message');
  const raw: unknown = (v as Record<string, unknown>)['csr_pem'];
  if (!Buffer.isBuffer(raw) || raw.length === 0)
    throw badRequest('csr_pem is empty: send a PEM PKCS#10 request');
  return { csr: raw.toString('utf8') };
}

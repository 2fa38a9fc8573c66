/**
 * The narrowing of the CA's decoded requests (untrusted input) into typed values. The services
 * themselves (`istio.v1.auth.IstioCertificateService`, `istio.v1.auth.IstioCAService`) are loaded
 * in lib/ca/protos.ts, shared with the CA's clients (node agent, pod agent).
 */
import { isObject } from '../lib/json.ts';
import { CaRefusal, RefusalReason } from './refusal.ts';

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

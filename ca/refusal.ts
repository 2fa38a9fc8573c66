/**
 * Why the CA refused a request: a stable reason (the metrics label) on an IstioLiteError whose code
 * the gRPC server maps to a status (lib/grpc/status.ts). Messages say what was wrong and what is allowed.
 */
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';

export const RefusalReason = {
  /** The CSR is not PEM, not PKCS#10, or its signature does not verify. */
  BadCsr: 'bad_csr',
  /** The key is RSA below 2048 bits, or an elliptic curve other than P-256/P-384. */
  WeakKey: 'weak_key',
  /** The CSR asks for a CA certificate (basicConstraints CA:true). */
  CaRequested: 'ca_requested',
  /** The CSR has no URI SAN at all. */
  NoIdentity: 'no_identity',
  /** The CSR asks for SANs besides the caller's identity (DNS names, IPs, other URIs). */
  ExtraSan: 'extra_san',
  /** The requested validity is negative or above the maximum. */
  BadTtl: 'bad_ttl',
  /** No credential, or one that did not verify. */
  Unauthenticated: 'unauthenticated',
  /** The caller asked for an identity that is not its own. */
  IdentityMismatch: 'identity_mismatch',
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

const codeFor: Record<RefusalReason, ErrorCode> = {
  bad_csr: ErrorCode.InvalidRequest,
  weak_key: ErrorCode.InvalidRequest,
  ca_requested: ErrorCode.InvalidRequest,
  no_identity: ErrorCode.InvalidRequest,
  extra_san: ErrorCode.PermissionDenied,
  bad_ttl: ErrorCode.InvalidRequest,
  unauthenticated: ErrorCode.Unauthenticated,
  identity_mismatch: ErrorCode.PermissionDenied,
};

export class CaRefusal extends IstioLiteError {
  readonly reason: RefusalReason;

  constructor(reason: RefusalReason, message: string, options?: { cause?: unknown }) {
    super(codeFor[reason], message, options);
    this.name = 'CaRefusal';
    this.reason = reason;
  }
}

export function isCaRefusal(e: unknown): e is CaRefusal {
  return e instanceof CaRefusal;
}

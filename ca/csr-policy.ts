/**
 * What the CA signs: a key of P-256, P-384 or RSA ≥ 2048 bits; no CA; exactly one SAN, a URI equal
 * to the caller's authenticated identity. Everything else is refused with the reason.
 */
import { describeKey, keyText } from '../lib/pki/keys.ts';
import type { ParsedCsr } from './csr-parse.ts';
import { CaRefusal, RefusalReason } from './refusal.ts';

const allowedCurves = new Set(['prime256v1', 'P-256', 'secp384r1', 'P-384']);
export const minRsaBits = 2048;
const maxRsaBits = 8192;

export function checkKey(csr: ParsedCsr): void {
  const d = describeKey(csr.publicKey);
  const ok =
    (d.type === 'ec' && allowedCurves.has(d.curve)) ||
    (d.type === 'rsa' && d.bits >= minRsaBits && d.bits <= maxRsaBits);
  if (!ok) {
    throw new CaRefusal(
      RefusalReason.WeakKey,
      `key ${keyText(d)} is not allowed: use ECDSA P-256 or P-384, or RSA of ${minRsaBits} to ${maxRsaBits} bits`,
    );
  }
}

/** The one identity the CSR asks for, checked against the caller's. */
export function checkIdentity(csr: ParsedCsr, callerIdentity: string): string {
  if (csr.requestsCa) {
    throw new CaRefusal(
      RefusalReason.CaRequested,
      'CSR requests a CA certificate (basicConstraints CA:true); only workload leaves are issued',
    );
  }
  const { uris, dnsNames, ips, other } = csr.sans;
  const extras = [
    ...dnsNames.map((d) => `DNS:${d}`),
    ...ips.map((i) => `IP:${i}`),
    ...other.map((t) => `GeneralName tag [${t}]`),
  ];
  if (uris.length === 0) {
    throw new CaRefusal(
      RefusalReason.NoIdentity,
      `CSR has no URI SAN: it must carry exactly one, the caller's identity ${callerIdentity}`,
    );
  }
  if (extras.length > 0 || uris.length > 1) {
    const all = [...uris.map((u) => `URI:${u}`), ...extras].join(', ');
    throw new CaRefusal(
      RefusalReason.ExtraSan,
      `caller ${callerIdentity} may only request its own identity as the one SAN; the CSR asks for ${all}`,
    );
  }
  const [uri] = uris;
  if (uri !== callerIdentity) {
    throw new CaRefusal(
      RefusalReason.IdentityMismatch,
      `CSR asks for identity ${uri ?? ''} but the caller is ${callerIdentity}`,
    );
  }
  return uri;
}

/**
 * Creating PKCS#10 certification requests (RFC 2986) for a workload: an empty subject and the
 * identity as the only SAN, signed with node:crypto. Used by the node agent and the pod agent.
 */
import type { KeyObject } from 'node:crypto';
import { bitString, contextTag, oid, sequence, set, smallInteger } from './der.ts';
import { signDer, signatureAlgorithmFor, spkiDer, type SignatureAlgorithm } from './keys.ts';
import { Oid } from './oids.ts';
import { pemEncode } from './pem.ts';
import {
  name,
  subjectAltNameExtension,
  type NameAttribute,
  type SubjectAltNames,
} from './x509-parts.ts';

export interface CsrOptions {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly sans: SubjectAltNames;
  /** Subject attributes; empty by default (the identity lives in the SAN). */
  readonly subject?: readonly NameAttribute[];
  /** Extra extensions to request, already DER-encoded Extension values (tests use this). */
  readonly extraExtensions?: readonly Buffer[];
  /** Overrides the signature algorithm chosen from the key (tests of unusual keys). */
  readonly signatureAlgorithm?: SignatureAlgorithm;
}

/** A DER-encoded CSR. */
export function createCsrDer(opts: CsrOptions): Buffer {
  const subject = opts.subject ?? [];
  const extensions = sequence(
    subjectAltNameExtension(opts.sans, subject.length === 0),
    ...(opts.extraExtensions ?? []),
  );
  const attributes = contextTag(0, sequence(oid(Oid.extensionRequest), set(extensions)), true);
  const info = sequence(smallInteger(0), name(subject), spkiDer(opts.publicKey), attributes);
  const alg = opts.signatureAlgorithm ?? signatureAlgorithmFor(opts.privateKey);
  return sequence(info, alg.identifier, bitString(signDer(info, opts.privateKey, alg)));
}

export function createCsrPem(opts: CsrOptions): string {
  return pemEncode('CERTIFICATE REQUEST', createCsrDer(opts));
}

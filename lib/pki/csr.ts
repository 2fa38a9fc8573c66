/**
 * Creating PKCS#10 certification requests (RFC 2986) for a workload: an empty subject and the
 * identity as the only SAN, encoded with @peculiar/x509's ASN.1 schema and signed with
 * node:crypto. Used by the node agent and the pod agent.
 */
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { Attribute, Extension, Extensions, Name, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { algorithmIdentifier, toDer } from './certificate-builder.ts';
import { signDer, signatureAlgorithmFor, spkiDer, type SignatureAlgorithm } from './keys.ts';
import { Oid } from './oids.ts';
import { pemEncode } from './pem.ts';
import type { x509 } from './x509.ts';
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
  /** Extra extensions to request (tests use this). */
  readonly extraExtensions?: readonly x509.Extension[];
  /** Overrides the signature algorithm chosen from the key (tests of unusual keys). */
  readonly signatureAlgorithm?: SignatureAlgorithm;
}

/** A DER-encoded CSR. */
export function createCsrDer(opts: CsrOptions): Buffer {
  const subject = opts.subject ?? [];
  const extensions = [
    subjectAltNameExtension(opts.sans, subject.length === 0),
    ...(opts.extraExtensions ?? []),
  ].map((e) => AsnConvert.parse(e.rawData, Extension));
  const info = new CertificationRequestInfo({
    subject: AsnConvert.parse(name(subject), Name),
    subjectPKInfo: AsnConvert.parse(spkiDer(opts.publicKey), SubjectPublicKeyInfo),
  });
  info.attributes.push(
    new Attribute({
      type: Oid.extensionRequest,
      values: [AsnConvert.serialize(new Extensions(extensions))],
    }),
  );
  const alg = opts.signatureAlgorithm ?? signatureAlgorithmFor(opts.privateKey);
  const signature = signDer(toDer(info), opts.privateKey, alg);
  return toDer(
    new CertificationRequest({
      certificationRequestInfo: info,
      signatureAlgorithm: algorithmIdentifier(alg),
      signature: Uint8Array.from(signature).buffer,
    }),
  );
}

export function createCsrPem(opts: CsrOptions): string {
  return pemEncode('CERTIFICATE REQUEST', createCsrDer(opts));
}

/**
 * Issuing X.509 v3 certificates with @peculiar/x509: extensions and names from its classes, the
 * TBSCertificate and Certificate from its ASN.1 schema (@peculiar/asn1-x509), the signature from
 * node:crypto (native ECDSA and RSA, synchronous; see lib/pki/x509.ts). Roots, intermediates, the
 * CA's serving certificate and infrastructure certificates are built here; workload leaves, the
 * CA's hot path, are written by lib/pki/workload-leaf.ts from parts made here (see why there).
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Certificate,
  Extension,
  Extensions,
  Name,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { signDer, signatureAlgorithmFor, type SignatureAlgorithm } from './keys.ts';
import { Oid } from './oids.ts';
import { x509 } from './x509.ts';
import { subjectAltNameExtension, type SubjectAltNames } from './x509-parts.ts';

export interface CertificateTemplate {
  /** DER Name of the subject (use `name([])` for the empty name of workload leaves). */
  readonly subject: Buffer;
  /** DER Name of the issuer: the signing certificate's subject. */
  readonly issuer: Buffer;
  /** SubjectPublicKeyInfo DER of the certified key. */
  readonly spki: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Extensions, in order. */
  readonly extensions: readonly x509.Extension[];
}

/** 16 random bytes, positive, never zero (RFC 5280 4.1.2.2: at most 20 octets). */
export function randomSerial(): Buffer {
  const s = randomBytes(16);
  s[0] = ((s[0] ?? 0) & 0x7f) | 0x01;
  return s;
}

function arrayBuffer(b: Buffer): ArrayBuffer {
  return Uint8Array.from(b).buffer;
}

export function algorithmIdentifier(alg: SignatureAlgorithm): AlgorithmIdentifier {
  return new AlgorithmIdentifier({
    algorithm: alg.oid,
    ...(alg.nullParameters ? { parameters: null } : {}),
  });
}

/** The DER of a library ASN.1 object (AlgorithmIdentifier, Name, Extension...). */
export function toDer(value: unknown): Buffer {
  return Buffer.from(AsnConvert.serialize(value));
}

function tbsCertificate(t: CertificateTemplate, alg: SignatureAlgorithm, serial: Buffer) {
  return new TBSCertificate({
    version: Version.v3,
    serialNumber: arrayBuffer(serial),
    signature: algorithmIdentifier(alg),
    issuer: AsnConvert.parse(t.issuer, Name),
    validity: new Validity({ notBefore: t.notBefore, notAfter: t.notAfter }),
    subject: AsnConvert.parse(t.subject, Name),
    subjectPublicKeyInfo: AsnConvert.parse(t.spki, SubjectPublicKeyInfo),
    extensions: new Extensions(t.extensions.map((e) => AsnConvert.parse(e.rawData, Extension))),
  });
}

/** The TBSCertificate DER the library encodes for `t` (the reference lib/pki/workload-leaf.ts is tested against). */
export function tbsCertificateDer(
  t: CertificateTemplate,
  alg: SignatureAlgorithm,
  serial: Buffer,
): Buffer {
  return toDer(tbsCertificate(t, alg, serial));
}

/** Signs the template with `signingKey`; returns the certificate DER. */
export function buildCertificate(t: CertificateTemplate, signingKey: KeyObject): Buffer {
  const alg = signatureAlgorithmFor(signingKey);
  const tbs = tbsCertificate(t, alg, randomSerial());
  const signature = signDer(toDer(tbs), signingKey, alg);
  return toDer(
    new Certificate({
      tbsCertificate: tbs,
      signatureAlgorithm: algorithmIdentifier(alg),
      signatureValue: arrayBuffer(signature),
    }),
  );
}

/** SHA-1 of the subjectPublicKey bits: RFC 5280 4.2.1.2 method (1). */
export function keyIdentifier(spki: Buffer): Buffer {
  const { subjectPublicKey } = AsnConvert.parse(spki, SubjectPublicKeyInfo);
  return createHash('sha1').update(new Uint8Array(subjectPublicKey)).digest();
}

export function subjectKeyIdExtension(spki: Buffer): x509.Extension {
  return new x509.SubjectKeyIdentifierExtension(keyIdentifier(spki).toString('hex'));
}

export function authorityKeyIdExtension(issuerKeyId: Buffer): x509.Extension {
  return new x509.AuthorityKeyIdentifierExtension(issuerKeyId.toString('hex'));
}

export function basicConstraintsExtension(ca: boolean, pathLen?: number): x509.Extension {
  return new x509.BasicConstraintsExtension(ca, pathLen, true);
}

/** keyUsage (critical) with the given x509.KeyUsageFlags. */
export function keyUsageExtension(usages: x509.KeyUsageFlags): x509.Extension {
  return new x509.KeyUsagesExtension(usages, true);
}

export function extKeyUsageExtension(oids: readonly string[]): x509.Extension {
  return new x509.ExtendedKeyUsageExtension([...oids], false);
}

const { digitalSignature, keyEncipherment, keyCertSign, cRLSign } = x509.KeyUsageFlags;

/** The extensions of a workload leaf but its SAN: not a CA, digitalSignature + keyEncipherment, server and client auth. */
export function leafFixedExtensions(issuerKeyId: Buffer): x509.Extension[] {
  return [
    keyUsageExtension(digitalSignature | keyEncipherment),
    extKeyUsageExtension([Oid.serverAuth, Oid.clientAuth]),
    basicConstraintsExtension(false),
    authorityKeyIdExtension(issuerKeyId),
  ];
}

/** Extensions of a workload leaf (docs/reference/ca.md, "Leaf profile"). */
export function leafExtensions(opts: {
  readonly issuerKeyId: Buffer;
  readonly sans: SubjectAltNames;
  readonly subjectEmpty: boolean;
}): x509.Extension[] {
  return [
    ...leafFixedExtensions(opts.issuerKeyId),
    subjectAltNameExtension(opts.sans, opts.subjectEmpty),
  ];
}

/** Extensions of a server certificate (the CA's own TLS serving certificate). */
export function serverExtensions(issuerKeyId: Buffer, sans: SubjectAltNames): x509.Extension[] {
  return [
    keyUsageExtension(digitalSignature | keyEncipherment),
    extKeyUsageExtension([Oid.serverAuth]),
    basicConstraintsExtension(false),
    authorityKeyIdExtension(issuerKeyId),
    subjectAltNameExtension(sans, false),
  ];
}

/** Extensions of a CA certificate (self-signed root, or a test intermediate). */
export function caExtensions(opts: {
  readonly spki: Buffer;
  readonly issuerKeyId?: Buffer;
}): x509.Extension[] {
  return [
    basicConstraintsExtension(true),
    keyUsageExtension(digitalSignature | keyCertSign | cRLSign),
    subjectKeyIdExtension(opts.spki),
    ...(opts.issuerKeyId ? [authorityKeyIdExtension(opts.issuerKeyId)] : []),
  ];
}

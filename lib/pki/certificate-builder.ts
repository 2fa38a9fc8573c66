/**
 * Issuing X.509 v3 certificates: the TBSCertificate is encoded with lib/pki/der.ts and signed with
 * node:crypto (native ECDSA and RSA). See docs/design/2026-11-23-ca.md for why this beat the
 * alternatives (node-forge signs RSA in pure JS and has no ECDSA; @peculiar/x509 is async WebCrypto).
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import {
  bitString,
  contextTag,
  namedBits,
  octetString,
  oid,
  readBitStringBytes,
  sequence,
  smallInteger,
  time,
  unsignedInteger,
  boolean,
  children,
  parseDer,
  expectTag,
  Tag,
} from './der.ts';
import { signDer, signatureAlgorithmFor } from './keys.ts';
import { KeyUsageBit, Oid } from './oids.ts';
import { extension, subjectAltNameExtension, type SubjectAltNames } from './x509-parts.ts';

export interface CertificateTemplate {
  /** DER Name of the subject (use `name([])` for the empty name of workload leaves). */
  readonly subject: Buffer;
  /** DER Name of the issuer: the signing certificate's subject, byte for byte. */
  readonly issuer: Buffer;
  /** SubjectPublicKeyInfo DER of the certified key. */
  readonly spki: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER Extension values, in order. */
  readonly extensions: readonly Buffer[];
}

/** 16 random bytes, positive, never zero (RFC 5280 4.1.2.2: at most 20 octets). */
export function randomSerial(): Buffer {
  const s = randomBytes(16);
  s[0] = ((s[0] ?? 0) & 0x7f) | 0x01;
  return s;
}

/** Signs the template with `signingKey`; returns the certificate DER. */
export function buildCertificate(t: CertificateTemplate, signingKey: KeyObject): Buffer {
  const alg = signatureAlgorithmFor(signingKey);
  const tbs = sequence(
    contextTag(0, smallInteger(2), true), // v3
    unsignedInteger(randomSerial()),
    alg.identifier,
    t.issuer,
    sequence(time(t.notBefore), time(t.notAfter)),
    t.subject,
    t.spki,
    contextTag(3, sequence(...t.extensions), true),
  );
  return sequence(tbs, alg.identifier, bitString(signDer(tbs, signingKey, alg)));
}

/** SHA-1 of the subjectPublicKey bits: RFC 5280 4.2.1.2 method (1). */
export function keyIdentifier(spki: Buffer): Buffer {
  const [, keyBits] = children(expectTag(parseDer(spki), Tag.Sequence, 'SubjectPublicKeyInfo'));
  if (keyBits === undefined) throw new Error('SubjectPublicKeyInfo has no key');
  return createHash('sha1').update(readBitStringBytes(keyBits)).digest();
}

export function subjectKeyIdExtension(spki: Buffer): Buffer {
  return extension(Oid.subjectKeyIdentifier, false, octetString(keyIdentifier(spki)));
}

export function authorityKeyIdExtension(issuerKeyId: Buffer): Buffer {
  return extension(Oid.authorityKeyIdentifier, false, sequence(contextTag(0, issuerKeyId, false)));
}

export function basicConstraintsExtension(ca: boolean, pathLen?: number): Buffer {
  const fields = ca
    ? [boolean(true), ...(pathLen === undefined ? [] : [smallInteger(pathLen)])]
    : [];
  return extension(Oid.basicConstraints, true, sequence(...fields));
}

export function keyUsageExtension(bits: readonly number[]): Buffer {
  return extension(Oid.keyUsage, true, namedBits(bits));
}

export function extKeyUsageExtension(oids: readonly string[]): Buffer {
  return extension(Oid.extKeyUsage, false, sequence(...oids.map((o) => oid(o))));
}

/** Extensions of a workload leaf (docs/reference/ca.md, "Leaf profile"): not a CA, digitalSignature + keyEncipherment, server and client auth. */
export function leafExtensions(opts: {
  readonly spki: Buffer;
  readonly issuerKeyId: Buffer;
  readonly sans: SubjectAltNames;
  readonly subjectEmpty: boolean;
}): Buffer[] {
  return [
    keyUsageExtension([KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment]),
    extKeyUsageExtension([Oid.serverAuth, Oid.clientAuth]),
    basicConstraintsExtension(false),
    authorityKeyIdExtension(opts.issuerKeyId),
    subjectAltNameExtension(opts.sans, opts.subjectEmpty),
  ];
}

/** Extensions of a CA certificate (self-signed root, or a test intermediate). */
export function caExtensions(opts: {
  readonly spki: Buffer;
  readonly issuerKeyId?: Buffer;
}): Buffer[] {
  return [
    basicConstraintsExtension(true),
    keyUsageExtension([KeyUsageBit.digitalSignature, KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign]),
    subjectKeyIdExtension(opts.spki),
    ...(opts.issuerKeyId ? [authorityKeyIdExtension(opts.issuerKeyId)] : []),
  ];
}

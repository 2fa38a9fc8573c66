/**
 * Workload leaves, the CA's hot path (docs/reference/ca.md, "Leaf profile"): empty subject, the
 * SPIFFE URI as the only (critical) SAN, fixed extensions. Everything that is the same for every
 * leaf of one signing certificate (signature algorithm, issuer Name, the extensions but the SAN)
 * is encoded once by @peculiar/x509 (lib/pki/certificate-builder.ts) when the writer is made; per
 * certificate only the serial, the validity, the requester's SubjectPublicKeyInfo (exact bytes
 * from its verified CSR), the one URI SAN and the enclosing SEQUENCEs are written, with the small
 * hand-written encoder of lib/pki/der.ts (why hand-written: see there). The result is byte for
 * byte the library's encoding of the same certificate (lib/pki/workload-leaf.test.ts).
 */
import type { KeyObject } from 'node:crypto';
import { Name } from '@peculiar/asn1-x509';
import {
  algorithmIdentifier,
  leafFixedExtensions,
  randomSerial,
  toDer,
} from './certificate-builder.ts';
import {
  bitString,
  children,
  contextTag,
  octetString,
  parseDer,
  sequence,
  time,
  tlv,
  unsignedInteger,
} from './der.ts';
import { signDer, signatureAlgorithmFor, type SignatureAlgorithm } from './keys.ts';
import { subjectAltNameExtension } from './x509-parts.ts';

export interface LeafFields {
  readonly serial: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER of the certified key. */
  readonly spki: Buffer;
  /** The SPIFFE URI, the only SAN. */
  readonly identity: string;
}

/** GeneralName uniformResourceIdentifier: [6] IMPLICIT IA5String. */
const uriTag = 0x86;

/** Writes the workload leaves of one signing certificate; make one per CA bundle. */
export class WorkloadLeafWriter {
  private readonly signingKey: KeyObject;
  private readonly alg: SignatureAlgorithm;
  private readonly algDer: Buffer;
  /** [0] EXPLICIT INTEGER 2: version v3. */
  private readonly version: Buffer;
  private readonly issuer: Buffer;
  private readonly emptySubject: Buffer;
  private readonly fixedExtensions: Buffer;
  /** extnID and critical of the SAN extension, as the library encodes them. */
  private readonly sanHead: Buffer;

  /** `issuer` is the DER Name of the signing certificate's subject, `issuerKeyId` its key id. */
  constructor(issuer: Buffer, issuerKeyId: Buffer, signingKey: KeyObject) {
    this.signingKey = signingKey;
    this.alg = signatureAlgorithmFor(signingKey);
    this.algDer = toDer(algorithmIdentifier(this.alg));
    this.version = contextTag(0, unsignedInteger(Buffer.from([2])), true);
    this.issuer = issuer;
    this.emptySubject = toDer(new Name());
    this.fixedExtensions = Buffer.concat(
      leafFixedExtensions(issuerKeyId).map((e) => Buffer.from(e.rawData)),
    );
    const [extnId, critical] = children(
      parseDer(Buffer.from(subjectAltNameExtension({ uris: ['x'] }, true).rawData)),
    );
    if (extnId === undefined || critical === undefined) throw new Error('SAN extension shape');
    this.sanHead = Buffer.concat([extnId.raw, critical.raw]);
  }

  /** The TBSCertificate DER. */
  tbs(f: LeafFields): Buffer {
    const san = sequence(
      this.sanHead,
      octetString(sequence(tlv(uriTag, Buffer.from(f.identity, 'ascii')))),
    );
    return sequence(
      this.version,
      unsignedInteger(f.serial),
      this.algDer,
      this.issuer,
      sequence(time(f.notBefore), time(f.notAfter)),
      this.emptySubject,
      f.spki,
      contextTag(3, sequence(this.fixedExtensions, san), true),
    );
  }

  /** The signed certificate DER, with a fresh random serial. */
  certificate(f: Omit<LeafFields, 'serial'>): Buffer {
    const tbs = this.tbs({ ...f, serial: randomSerial() });
    return sequence(tbs, this.algDer, bitString(signDer(tbs, this.signingKey, this.alg)));
  }
}

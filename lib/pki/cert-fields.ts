/**
 * Fields of an issuer certificate that node:crypto's X509Certificate does not expose as bytes:
 * the subject Name exactly as encoded (a leaf's issuer must match it byte for byte), the
 * SubjectPublicKeyInfo, and the subject key identifier (for the leaf's authority key identifier).
 */
import { Tag, children, expectTag, parseDer, readOid, type DerNode } from './der.ts';
import { Oid } from './oids.ts';
import { keyIdentifier } from './certificate-builder.ts';

export interface IssuerFields {
  readonly subject: Buffer;
  readonly spki: Buffer;
  readonly keyId: Buffer;
}

function extensionValue(tbsFields: readonly DerNode[], extnId: string): Buffer | undefined {
  const ext = tbsFields.find((n) => n.tag === 0xa3);
  if (ext === undefined) return undefined;
  const [list] = children(ext);
  if (list === undefined) return undefined;
  for (const e of children(expectTag(list, Tag.Sequence, 'Extensions'))) {
    const parts = children(e);
    const first = parts[0];
    if (first === undefined || readOid(first) !== extnId) continue;
    const value = parts[parts.length - 1];
    return expectTag(value, Tag.OctetString, 'extnValue').content;
  }
  return undefined;
}

export function issuerFields(certDer: Buffer): IssuerFields {
  const [tbs] = children(expectTag(parseDer(certDer), Tag.Sequence, 'Certificate'));
  const fields = children(expectTag(tbs, Tag.Sequence, 'TBSCertificate'));
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = expectTag(fields[offset + 4], Tag.Sequence, 'subject').raw;
  const spki = expectTag(fields[offset + 5], Tag.Sequence, 'subjectPublicKeyInfo').raw;
  const ski = extensionValue(fields, Oid.subjectKeyIdentifier);
  const keyId = ski
    ? expectTag(parseDer(ski), Tag.OctetString, 'subjectKeyIdentifier').content
    : keyIdentifier(spki);
  return { subject, spki, keyId };
}

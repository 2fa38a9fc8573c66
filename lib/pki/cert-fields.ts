/**
 * Fields of an issuer certificate that node:crypto's X509Certificate does not expose as bytes,
 * read with @peculiar/x509: the subject Name DER (a leaf's issuer), the SubjectPublicKeyInfo, and
 * the subject key identifier (for the leaf's authority key identifier).
 */
import { keyIdentifier } from './certificate-builder.ts';
import { x509 } from './x509.ts';

export interface IssuerFields {
  readonly subject: Buffer;
  readonly spki: Buffer;
  readonly keyId: Buffer;
}

export function issuerFields(certDer: Buffer): IssuerFields {
  const cert = new x509.X509Certificate(certDer);
  const spki = Buffer.from(cert.publicKey.rawData);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  return {
    subject: Buffer.from(cert.subjectName.toArrayBuffer()),
    spki,
    keyId: ski ? Buffer.from(ski.keyId, 'hex') : keyIdentifier(spki),
  };
}

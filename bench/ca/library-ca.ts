/**
 * The road not taken, measured in the same run: the CA's CSR path done entirely with
 * @peculiar/x509's ASN.1 codec (parse the request, read its SAN, build the leaf), signatures still
 * from node:crypto. The CA writes leaves and reads requests with lib/pki/der.ts instead; this line
 * of the benchmark shows why (see the comment there).
 */
import { createPublicKey, verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { Extensions, SubjectAlternativeName } from '@peculiar/asn1-x509';
import type { KeyCertBundle } from '../../ca/key-cert-bundle.ts';
import { buildCertificate, leafExtensions, toDer } from '../../lib/pki/certificate-builder.ts';
import { hashForSignatureOid } from '../../lib/pki/keys.ts';
import { Oid } from '../../lib/pki/oids.ts';
import { pemDecodeOne, pemEncode } from '../../lib/pki/pem.ts';
import { name } from '../../lib/pki/x509-parts.ts';

export function libraryIssue(bundle: KeyCertBundle, csrPem: string, identity: string): string {
  const req = AsnConvert.parse(pemDecodeOne(csrPem, 'CERTIFICATE REQUEST'), CertificationRequest);
  const info = req.certificationRequestInfo;
  const spki = toDer(info.subjectPKInfo);
  const hash = hashForSignatureOid(req.signatureAlgorithm.algorithm);
  const signed = req.certificationRequestInfoRaw;
  if (hash === undefined || signed === undefined) throw new Error('unsupported request');
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  if (!verify(hash, new Uint8Array(signed), key, new Uint8Array(req.signature))) {
    throw new Error('bad signature');
  }
  const extReq = info.attributes.find((a) => a.type === Oid.extensionRequest)?.values[0];
  const exts = extReq ? AsnConvert.parse(extReq, Extensions) : [];
  const san = exts.find((e) => e.extnID === Oid.subjectAltName);
  const uris = san
    ? AsnConvert.parse(san.extnValue.buffer, SubjectAlternativeName).map(
        (n) => n.uniformResourceIdentifier,
      )
    : [];
  if (uris.length !== 1 || uris[0] !== identity) throw new Error('identity');
  const now = Date.now();
  const der = buildCertificate(
    {
      subject: name([]),
      issuer: bundle.issuer.subject,
      spki,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      extensions: leafExtensions({
        issuerKeyId: bundle.issuer.keyId,
        sans: { uris: [identity] },
        subjectEmpty: true,
      }),
    },
    bundle.signingKey,
  );
  return pemEncode('CERTIFICATE', der);
}

/**
 * Small PKIs for infrastructure certificates (the injector's serving certificate, the local
 * cluster's API server and admin certificates): a self-signed CA and certificates it issues, with
 * ECDSA P-256 keys, built by @peculiar/x509 and signed natively (lib/pki/certificate-builder.ts).
 * Workload identities are the CA service's job, not this.
 */
import { createPrivateKey } from 'node:crypto';
import { issuerFields } from './cert-fields.ts';
import {
  authorityKeyIdExtension,
  basicConstraintsExtension,
  buildCertificate,
  caExtensions,
  extKeyUsageExtension,
  keyUsageExtension,
  subjectKeyIdExtension,
} from './certificate-builder.ts';
import { generateKeysSync, spkiDer } from './keys.ts';
import { Oid } from './oids.ts';
import { pemDecodeOne, pemEncode } from './pem.ts';
import { x509 } from './x509.ts';
import { name, subjectAltNameExtension, type NameAttribute } from './x509-parts.ts';

export interface PemPair {
  /** The certificate, PEM. */
  readonly cert: string;
  /** Its private key, PKCS#8 PEM. */
  readonly key: string;
}

export interface IssueOptions {
  readonly commonName: string;
  /** Organizations (O=), e.g. `system:masters` for a Kubernetes admin client certificate. */
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly string[];
  readonly serverAuth?: boolean;
  readonly clientAuth?: boolean;
  readonly lifetimeMs: number;
  readonly now?: Date;
}

/** Back-dating for clock skew: a minute, or a tenth of a short lifetime. */
function validity(lifetimeMs: number, now: Date): { notBefore: Date; notAfter: Date } {
  const skew = Math.min(60_000, lifetimeMs / 10);
  return {
    notBefore: new Date(now.getTime() - skew),
    notAfter: new Date(now.getTime() + lifetimeMs),
  };
}

function subject(o: Pick<IssueOptions, 'commonName' | 'organizations'>): Buffer {
  const attrs: NameAttribute[] = [
    ...(o.organizations ?? []).map((value) => ({ oid: Oid.organization, value })),
    { oid: Oid.commonName, value: o.commonName },
  ];
  return name(attrs);
}

export function createSelfSignedCa(
  commonName: string,
  lifetimeMs: number,
  now = new Date(),
): PemPair {
  const keys = generateKeysSync('ecdsa-p256');
  const spki = spkiDer(keys.publicKey);
  const dn = subject({ commonName, organizations: ['istio-lite'] });
  const der = buildCertificate(
    {
      subject: dn,
      issuer: dn,
      spki,
      ...validity(lifetimeMs, now),
      extensions: caExtensions({ spki }),
    },
    keys.privateKey,
  );
  return {
    cert: pemEncode('CERTIFICATE', der),
    key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function issueCertificate(ca: PemPair, o: IssueOptions): PemPair {
  const keys = generateKeysSync('ecdsa-p256');
  const spki = spkiDer(keys.publicKey);
  const issuer = issuerFields(pemDecodeOne(ca.cert, 'CERTIFICATE'));
  const usages = [
    ...(o.serverAuth ? [Oid.serverAuth] : []),
    ...(o.clientAuth ? [Oid.clientAuth] : []),
  ];
  const hasSans = (o.dnsNames?.length ?? 0) + (o.ips?.length ?? 0) > 0;
  const der = buildCertificate(
    {
      subject: subject(o),
      issuer: issuer.subject,
      spki,
      ...validity(o.lifetimeMs, o.now ?? new Date()),
      extensions: [
        basicConstraintsExtension(false),
        keyUsageExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment),
        ...(usages.length > 0 ? [extKeyUsageExtension(usages)] : []),
        subjectKeyIdExtension(spki),
        authorityKeyIdExtension(issuer.keyId),
        ...(hasSans
          ? [subjectAltNameExtension({ dnsNames: o.dnsNames ?? [], ips: o.ips ?? [] }, false)]
          : []),
      ],
    },
    createPrivateKey(ca.key),
  );
  return {
    cert: pemEncode('CERTIFICATE', der),
    key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/**
 * The webhook's own certificates when none are mounted: a small CA and a serving certificate for
 * the webhook Service's DNS names (and loopback in local mode). Keys come from node:crypto (RSA
 * 2048: the one key type node-forge can sign with); node-forge builds and signs the certificates,
 * a few milliseconds once per rotation. Workload certificates are the CA service's job, not this.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

export interface CaMaterial {
  readonly cert: string;
  readonly key: string;
}

export interface ServingMaterial {
  /** The serving certificate. */
  readonly cert: string;
  readonly key: string;
}

function newKeys(): {
  pem: string;
  forgeKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
} {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem);
  return { pem, forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, now: Date, lifetimeMs: number): void {
  // Back-date for clock skew between the API server and the webhook: a minute, or a tenth of a
  // short lifetime, so the renewal point stays inside the certificate's real life.
  const skew = Math.min(60_000, lifetimeMs / 10);
  cert.validity.notBefore = new Date(now.getTime() - skew);
  cert.validity.notAfter = new Date(now.getTime() + lifetimeMs);
}

export function createCa(commonName: string, lifetimeMs: number, now = new Date()): CaMaterial {
  const keys = newKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, now, lifetimeMs);
  const subject = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'istio-lite' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

export function createServingCert(
  ca: CaMaterial,
  dnsNames: readonly string[],
  ipAddresses: readonly string[],
  lifetimeMs: number,
  now = new Date(),
): ServingMaterial {
  const keys = newKeys();
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, now, lifetimeMs);
  cert.setSubject([
    { name: 'commonName', value: dnsNames[0] ?? ipAddresses[0] ?? 'istio-sidecar-injector' },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...dnsNames.map((value) => ({ type: 2, value })),
        ...ipAddresses.map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/** Validity of a PEM certificate, or undefined when it does not parse. */
export function certValidity(pem: string): { notBefore: Date; notAfter: Date } | undefined {
  try {
    const x = new X509Certificate(pem);
    return { notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) };
  } catch {
    return undefined;
  }
}

/** True when `cert` was issued by `caCert` (signature check). */
export function issuedBy(cert: string, caCert: string): boolean {
  try {
    return new X509Certificate(cert).verify(new X509Certificate(caCert).publicKey);
  } catch {
    return false;
  }
}

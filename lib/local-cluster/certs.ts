/**
 * The local cluster's PKI, generated fresh for each `up`: a CA; the API server's serving
 * certificate for 127.0.0.1, ::1 and localhost (and the in-cluster names, for completeness); an
 * admin client certificate (CN `istio-lite-admin`, O `system:masters`, so RBAC allows everything)
 * that the kubeconfig embeds; and an ECDSA P-256 service-account signing key pair.
 *
 * RSA keys come from node:crypto (fast, native); certificates are built and signed with node-forge
 * (three signatures per cluster, ~20 ms each). node-forge has no ECDSA, hence RSA certificates.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface LocalPki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** Service-account token signing key (PKCS#8 PEM) and its public key (SPKI PEM). */
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
}

/** The admin user of the local cluster's kubeconfig. */
export const adminUser = { name: 'istio-lite-admin', groups: ['system:masters'] } as const;

const dnsNames = [
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];
/** Loopback, and the `kubernetes` Service's ClusterIP in 10.0.0.0/24. */
const ipAddresses = ['127.0.0.1', '::1', '10.0.0.1'];

async function rsaKey(): Promise<{ publicKey: string; privateKey: string }> {
  return generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
}

function serial(): string {
  // Positive (leading 0x01), 128 random bits: unique without bookkeeping.
  return `01${randomBytes(16).toString('hex')}`;
}

interface CertSpec {
  readonly subject: forge.pki.CertificateField[];
  readonly publicKeyPem: string;
  readonly extensions: object[];
  readonly issuer?: { cert: forge.pki.Certificate; keyPem: string };
  /** Self-signed with this key when there is no issuer. */
  readonly selfKeyPem?: string;
}

function buildCert(spec: CertSpec, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(spec.publicKeyPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60 * 60_000); // tolerate clock skew
  cert.validity.notAfter = new Date(now.getTime() + 365 * 24 * 60 * 60_000);
  cert.setSubject(spec.subject);
  cert.setIssuer(spec.issuer ? spec.issuer.cert.subject.attributes : spec.subject);
  cert.setExtensions([
    ...spec.extensions,
    { name: 'subjectKeyIdentifier' },
    ...(spec.issuer
      ? [
          {
            name: 'authorityKeyIdentifier',
            keyIdentifier: spec.issuer.cert.generateSubjectKeyIdentifier().getBytes(),
          },
        ]
      : []),
  ]);
  const signingKey = spec.issuer?.keyPem ?? spec.selfKeyPem;
  if (signingKey === undefined) throw new Error('buildCert: no signing key');
  cert.sign(forge.pki.privateKeyFromPem(signingKey), forge.md.sha256.create());
  return cert;
}

export async function generateLocalPki(now: Date = new Date()): Promise<LocalPki> {
  const [ca, server, admin] = await Promise.all([rsaKey(), rsaKey(), rsaKey()]);
  const sa = await generateKeyPairAsync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

  const caCert = buildCert(
    {
      subject: [{ name: 'commonName', value: 'istio-lite-local-ca' }],
      publicKeyPem: ca.publicKey,
      selfKeyPem: ca.privateKey,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        {
          name: 'keyUsage',
          keyCertSign: true,
          cRLSign: true,
          digitalSignature: true,
          critical: true,
        },
      ],
    },
    now,
  );
  const issuer = { cert: caCert, keyPem: ca.privateKey };
  const serverCert = buildCert(
    {
      subject: [{ name: 'commonName', value: 'kube-apiserver' }],
      publicKeyPem: server.publicKey,
      issuer,
      extensions: [
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
      ],
    },
    now,
  );
  const adminCert = buildCert(
    {
      subject: [
        { name: 'commonName', value: adminUser.name },
        ...adminUser.groups.map((value) => ({ name: 'organizationName', value })),
      ],
      publicKeyPem: admin.publicKey,
      issuer,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', clientAuth: true },
      ],
    },
    now,
  );
  const pem = (c: forge.pki.Certificate) => forge.pki.certificateToPem(c);
  return {
    caCert: pem(caCert),
    caKey: ca.privateKey,
    serverCert: pem(serverCert),
    serverKey: server.privateKey,
    adminCert: pem(adminCert),
    adminKey: admin.privateKey,
    serviceAccountKey: sa.privateKey,
    serviceAccountPub: sa.publicKey,
  };
}

/**
 * The local cluster's PKI, generated fresh for each `up`: a CA; the API server's serving
 * certificate for 127.0.0.1, ::1 and localhost (and the in-cluster names, for completeness); an
 * admin client certificate (CN `istio-lite-admin`, O `system:masters`, so RBAC allows everything)
 * that the kubeconfig embeds; an ECDSA P-256 service-account signing key pair; and for the
 * simulated cluster, client certificates as kube-controller-manager and kube-scheduler (the users
 * Kubernetes' bootstrap RBAC roles name), one for kwok (in `system:masters`: it writes nodes,
 * leases, pods' status and deletes pods, as kubelets do), and a serving certificate for
 * 127.0.0.1 that the controller manager and the scheduler serve /healthz with.
 *
 * ECDSA P-256 keys and native signing through lib/pki/simple-certs.ts (a few milliseconds).
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { createSelfSignedCa, issueCertificate, type PemPair } from '../pki/simple-certs.ts';

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
  readonly controllerManager: PemPair;
  readonly scheduler: PemPair;
  readonly kwok: PemPair;
  /** Serving certificate of kube-controller-manager and kube-scheduler (127.0.0.1, localhost). */
  readonly componentServing: PemPair;
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
/** The client identities of the simulated cluster's components (Kubernetes' own user names). */
export const componentUsers = {
  controllerManager: 'system:kube-controller-manager',
  scheduler: 'system:kube-scheduler',
  kwok: 'istio-lite-kwok',
} as const;

/** Loopback, and the `kubernetes` Service's ClusterIP (the first of args.ts's serviceCidr). */
const ipAddresses = ['127.0.0.1', '::1', '10.0.0.1'];

const year = 365 * 24 * 60 * 60_000;

export async function generateLocalPki(now: Date = new Date()): Promise<LocalPki> {
  const sa = await generateKeyPairAsync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const ca = createSelfSignedCa('istio-lite-local-ca', year, now);
  const server = issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames,
    ips: ipAddresses,
    serverAuth: true,
    lifetimeMs: year,
    now,
  });
  const admin = issueCertificate(ca, {
    commonName: adminUser.name,
    organizations: adminUser.groups,
    clientAuth: true,
    lifetimeMs: year,
    now,
  });
  const client = (commonName: string, organizations: readonly string[] = []) =>
    issueCertificate(ca, { commonName, organizations, clientAuth: true, lifetimeMs: year, now });
  const componentServing = issueCertificate(ca, {
    commonName: 'istio-lite-local-components',
    dnsNames: ['localhost'],
    ips: ['127.0.0.1'],
    serverAuth: true,
    lifetimeMs: year,
    now,
  });
  return {
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey: sa.privateKey,
    serviceAccountPub: sa.publicKey,
    controllerManager: client(componentUsers.controllerManager),
    scheduler: client(componentUsers.scheduler),
    kwok: client(componentUsers.kwok, ['system:masters']),
    componentServing,
  };
}

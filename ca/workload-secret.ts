/**
 * The `istio.<sa>` Secret (docs/reference/ca.md, "Workload Secret"): type istio.io/key-and-cert with cert-chain.pem (leaf,
 * then any intermediates), key.pem and root-cert.pem. Building one, and deciding whether one in
 * the cluster is still good: it must parse, its key must match its certificate, the certificate
 * must carry exactly the ServiceAccount's identity and chain to the current root, and the renewal
 * point (a grace ratio of its lifetime) must not have passed.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { spkiDer } from '../lib/pki/keys.ts';
import { splitCertificates } from '../lib/pki/pem.ts';

export const WorkloadSecret = {
  Type: 'istio.io/key-and-cert',
  CertChain: 'cert-chain.pem',
  Key: 'key.pem',
  Root: 'root-cert.pem',
  /** Annotation naming the ServiceAccount the Secret belongs to (as Istio's Citadel set it). */
  ServiceAccountAnnotation: 'istio.io/service-account.name',
} as const;

export function workloadSecretName(serviceAccount: string): string {
  return `istio.${serviceAccount}`;
}

/** The ServiceAccount a Secret is for: its annotation, else its `istio.<sa>` name. */
export function serviceAccountOf(secret: V1Secret): string | undefined {
  const a = secret.metadata?.annotations?.[WorkloadSecret.ServiceAccountAnnotation];
  if (a !== undefined && a !== '') return a;
  const name = secret.metadata?.name ?? '';
  return name.startsWith('istio.') ? name.slice('istio.'.length) : undefined;
}

export interface WorkloadSecretContent {
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly rootPem: string;
}

export function buildWorkloadSecret(
  namespace: string,
  serviceAccount: string,
  content: WorkloadSecretContent,
  meta: { readonly ownerUid?: string; readonly resourceVersion?: string } = {},
): V1Secret {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: workloadSecretName(serviceAccount),
      namespace,
      annotations: { [WorkloadSecret.ServiceAccountAnnotation]: serviceAccount },
      ...(meta.resourceVersion === undefined ? {} : { resourceVersion: meta.resourceVersion }),
      ...(meta.ownerUid === undefined
        ? {}
        : {
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'ServiceAccount',
                name: serviceAccount,
                uid: meta.ownerUid,
              },
            ],
          }),
    },
    type: WorkloadSecret.Type,
    data: {
      [WorkloadSecret.CertChain]: b64(content.certChainPem),
      [WorkloadSecret.Key]: b64(content.keyPem),
      [WorkloadSecret.Root]: b64(content.rootPem),
    },
  };
}

export type SecretVerdict =
  | { readonly ok: true; readonly renewAt: Date }
  | {
      readonly ok: false;
      readonly cause: 'invalid' | 'root_changed' | 'expiring';
      readonly why: string;
    };

function field(secret: V1Secret, key: string): string | undefined {
  const v = secret.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

/** When a certificate should be renewed: `ratio` of the way from notBefore to notAfter. */
export function renewalPoint(cert: X509Certificate, ratio: number): Date {
  const from = cert.validFromDate.getTime();
  const to = cert.validToDate.getTime();
  return new Date(from + (to - from) * ratio);
}

export function checkWorkloadSecret(
  secret: V1Secret,
  want: {
    readonly identity: string;
    readonly rootPem: string;
    readonly graceRatio: number;
    readonly now: Date;
  },
): SecretVerdict {
  const bad = (why: string): SecretVerdict => ({ ok: false, cause: 'invalid', why });
  if (secret.type !== WorkloadSecret.Type) return bad(`type is ${secret.type ?? '(none)'}`);
  const chainPem = field(secret, WorkloadSecret.CertChain);
  const keyPem = field(secret, WorkloadSecret.Key);
  const rootPem = field(secret, WorkloadSecret.Root);
  if (chainPem === undefined || keyPem === undefined || rootPem === undefined)
    return bad('a key is missing');
  let leaf: X509Certificate;
  let root: X509Certificate;
  let current: X509Certificate;
  let chain: X509Certificate[];
  try {
    chain = splitCertificates(chainPem).map((c) => new X509Certificate(c));
    const first = chain[0];
    if (first === undefined) return bad('cert-chain.pem holds no certificate');
    leaf = first;
    root = new X509Certificate(rootPem);
    current = new X509Certificate(want.rootPem);
    if (!spkiDer(createPublicKey(createPrivateKey(keyPem))).equals(spkiDer(leaf.publicKey))) {
      return bad('key.pem does not match the certificate');
    }
  } catch (e) {
    return bad(`cannot parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!root.raw.equals(current.raw))
    return { ok: false, cause: 'root_changed', why: 'root-cert.pem is not the current root' };
  const path = [...chain, root];
  for (let i = 0; i + 1 < path.length; i++) {
    const c = path[i];
    const p = path[i + 1];
    if (c === undefined || p === undefined) break;
    if (!c.verify(p.publicKey))
      return {
        ok: false,
        cause: 'root_changed',
        why: 'certificate does not chain to the current root',
      };
  }
  if (leaf.subjectAltName !== `URI:${want.identity}`)
    return bad(`SAN is ${leaf.subjectAltName ?? '(none)'}`);
  const renewAt = renewalPoint(leaf, want.graceRatio);
  if (want.now >= renewAt)
    return { ok: false, cause: 'expiring', why: `renewal point ${renewAt.toISOString()} passed` };
  return { ok: true, renewAt };
}

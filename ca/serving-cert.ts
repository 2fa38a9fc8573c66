/**
 * The CA's own TLS serving certificate, issued by itself: a fresh ECDSA P-256 key, DNS names of the
 * istio-ca Service (and whatever the operator adds), server auth only. Client certificates are
 * trusted when they chain to the current root.
 */
import { isIP } from 'node:net';
import { generateKeysSync } from '../lib/pki/keys.ts';
import type { ServingTls } from '../lib/grpc/optional-client-cert.ts';
import type { CertificateAuthority } from './authority.ts';

export interface ServingCert {
  readonly tls: ServingTls;
  readonly notAfter: Date;
}

/** Hosts are DNS names or IP addresses. */
export function issueServingCert(
  authority: CertificateAuthority,
  hosts: readonly string[],
  ttlMs: number,
  /** Roots trusted for client certificates besides the current one (the previous root, after a change). */
  extraTrustedRoots: readonly string[] = [],
): ServingCert {
  const keys = generateKeysSync('ecdsa-p256');
  const issued = authority.issueServer(
    keys.publicKey,
    { dnsNames: hosts.filter((h) => isIP(h) === 0), ips: hosts.filter((h) => isIP(h) !== 0) },
    ttlMs,
  );
  const chain = issued.chainPem.filter((c) => c !== authority.rootPem);
  return {
    tls: {
      key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      cert: chain.join(''),
      ca: [authority.rootPem, ...extraTrustedRoots.filter((r) => r !== authority.rootPem)].join(''),
    },
    notAfter: issued.notAfter,
  };
}

/** The istio-ca Service's names in `namespace`, for the serving certificate. */
export function serviceHosts(namespace: string, extra: readonly string[]): string[] {
  const base = [
    'istio-ca',
    `istio-ca.${namespace}`,
    `istio-ca.${namespace}.svc`,
    `istio-ca.${namespace}.svc.cluster.local`,
  ];
  return [...new Set([...base, ...extra])];
}

/**
 * Who is calling: a client certificate from this CA (renewal), a bootstrap token (VMs), or a
 * Kubernetes ServiceAccount token (TokenReview), tried in that order. The result is the caller's
 * SPIFFE identity; anything else is a CaRefusal (UNAUTHENTICATED) saying what was missing or wrong.
 */
import { X509Certificate } from 'node:crypto';
import { parseSpiffeId, spiffeId } from '../lib/pki/spiffe.ts';
import { isConflict, lookupBootstrapToken, type BootstrapTokens } from './bootstrap-tokens.ts';
import { CaRefusal, RefusalReason } from './refusal.ts';
import type { TokenReviewer } from './token-review.ts';

export const AuthMethod = {
  ClientCert: 'client_cert',
  BootstrapToken: 'bootstrap_token',
  ServiceAccountToken: 'sa_token',
} as const;
export type AuthMethod = (typeof AuthMethod)[keyof typeof AuthMethod];

export interface Caller {
  readonly identity: string;
  readonly method: AuthMethod;
  /** For logs: the certificate serial, the node name, or the ServiceAccount. */
  readonly detail: string;
}

export interface CallCredentials {
  /** DER of a peer certificate the TLS layer verified against the CA's roots. */
  readonly peerCertDer?: Buffer;
  /** The `authorization` metadata value. */
  readonly authorization?: string;
}

export interface AuthenticatorOptions {
  readonly trustDomain: string;
  /** Checks ServiceAccount tokens; absent when the CA runs without Kubernetes. */
  readonly tokenReviewer?: TokenReviewer;
  /** The current bootstrap tokens (the file's and the Secrets', merged). */
  readonly bootstrapTokens?: () => BootstrapTokens;
  readonly now?: () => Date;
}

export type Authenticator = (creds: CallCredentials) => Promise<Caller>;

function unauthenticated(message: string): CaRefusal {
  return new CaRefusal(RefusalReason.Unauthenticated, message);
}

/** The identity in a client certificate, or why it cannot be used. */
function certIdentity(der: Buffer, trustDomain: string, now: Date): Caller | string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return 'client certificate cannot be parsed';
  }
  if (cert.ca) return 'client certificate is a CA certificate';
  if (now < cert.validFromDate || now > cert.validToDate) return 'client certificate has expired';
  const uris = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  const [uri, ...more] = uris;
  const id = uri === undefined ? undefined : parseSpiffeId(uri);
  if (id === undefined || more.length > 0)
    return 'client certificate carries no single SPIFFE identity';
  if (id.trustDomain !== trustDomain) {
    return `client certificate is for trust domain ${id.trustDomain}, not ${trustDomain}`;
  }
  return { identity: spiffeId(id), method: AuthMethod.ClientCert, detail: cert.serialNumber };
}

function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const now = opts.now ?? (() => new Date());
  return async (creds) => {
    const problems: string[] = [];
    if (creds.peerCertDer) {
      const r = certIdentity(creds.peerCertDer, opts.trustDomain, now());
      if (typeof r !== 'string') return r;
      problems.push(r);
    }
    const token = bearerToken(creds.authorization);
    if (creds.authorization !== undefined && token === undefined) {
      problems.push('authorization metadata is not "Bearer <token>"');
    }
    if (token !== undefined) {
      const boot = opts.bootstrapTokens
        ? lookupBootstrapToken(opts.bootstrapTokens(), token)
        : undefined;
      if (boot && isConflict(boot)) throw unauthenticated(boot.conflict);
      if (boot?.expiresAt !== undefined && now() >= boot.expiresAt) {
        throw unauthenticated(
          `bootstrap token of node ${boot.node}${boot.source === undefined ? '' : ` (${boot.source})`} expired at ${boot.expiresAt.toISOString()}`,
        );
      }
      if (boot) {
        return {
          identity: spiffeId({
            trustDomain: opts.trustDomain,
            namespace: boot.namespace,
            serviceAccount: boot.serviceAccount,
          }),
          method: AuthMethod.BootstrapToken,
          detail: boot.node,
        };
      }
      if (!opts.tokenReviewer) {
        throw unauthenticated(
          'bearer token is not a known bootstrap token, and ServiceAccount tokens cannot be checked (the CA has no Kubernetes access)',
        );
      }
      const r = await opts.tokenReviewer.review(token);
      if (!r.authenticated) throw unauthenticated(`ServiceAccount token rejected: ${r.reason}`);
      return {
        identity: spiffeId({ trustDomain: opts.trustDomain, ...r }),
        method: AuthMethod.ServiceAccountToken,
        detail: `${r.namespace}/${r.serviceAccount}`,
      };
    }
    throw unauthenticated(
      problems.length > 0
        ? `${problems.join('; ')}, and no bearer token was sent`
        : 'no credential: present a client certificate from this CA, or "authorization: Bearer <token>" metadata (ServiceAccount or bootstrap token)',
    );
  };
}

/**
 * The Secret that registers a VM's bootstrap token with the CA, shared by the CA (which watches
 * them, ca/bootstrap-token-secrets.ts) and `istio-lite vm bundle` (which creates one per bundle).
 * Like Kubernetes' own bootstrap tokens: a Secret of a type of its own in the CA's namespace,
 * holding the hash of the token, never the token. The format is documented in
 * ca/bootstrap-tokens.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';

export const BootstrapTokenSecret = {
  /** The Secret type the CA selects on (field selector `type=...`). */
  Type: 'istio-lite.io/bootstrap-token',
  /** Data keys. */
  Node: 'node',
  Namespace: 'namespace',
  ServiceAccount: 'serviceAccount',
  TokenSha256: 'token-sha256',
  /** Optional: RFC 3339 time after which the token is refused. */
  Expiration: 'expiration',
  /** Optional: free text for people. */
  Description: 'description',
  /** Labels `vm bundle` puts on the Secrets it creates. */
  NamespaceLabel: 'istio-lite.io/vm-namespace',
  ServiceAccountLabel: 'istio-lite.io/vm-service-account',
  NodeLabel: 'istio-lite.io/vm-node',
} as const;

/** Hex SHA-256 of a token: what the file's `sha256` and the Secret's `token-sha256` hold. */
export function bootstrapTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token: 32 random bytes, hex (as `openssl rand -hex 32` makes). */
export function newBootstrapToken(): string {
  return randomBytes(32).toString('hex');
}

export interface BootstrapTokenSecretSpec {
  /** Secret name and namespace (the CA's namespace). */
  readonly name: string;
  readonly secretNamespace: string;
  /** A name for logs (the VM). */
  readonly node: string;
  /** The identity the token may request. */
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly tokenSha256: string;
  readonly expiration?: Date;
  readonly description?: string;
}

/** A label value (at most 63 characters); a longer name is left out of the labels. */
const labelValueRe = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

/** The Secret registering one token (labels name the VM's namespace, ServiceAccount and node). */
export function bootstrapTokenSecret(spec: BootstrapTokenSecretSpec): V1Secret {
  const S = BootstrapTokenSecret;
  const data: Record<string, string> = {
    [S.Node]: spec.node,
    [S.Namespace]: spec.namespace,
    [S.ServiceAccount]: spec.serviceAccount,
    [S.TokenSha256]: spec.tokenSha256,
  };
  if (spec.expiration !== undefined) data[S.Expiration] = rfc3339(spec.expiration);
  if (spec.description !== undefined) data[S.Description] = spec.description;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: spec.name,
      namespace: spec.secretNamespace,
      labels: Object.fromEntries(
        (
          [
            [S.NamespaceLabel, spec.namespace],
            [S.ServiceAccountLabel, spec.serviceAccount],
            [S.NodeLabel, spec.node],
          ] as const
        ).filter(([, v]) => labelValueRe.test(v)),
      ),
    },
    type: S.Type,
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
    ),
  };
}

/** `2026-12-01T10:00:00Z`: RFC 3339 in UTC, whole seconds. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const rfc3339Re = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The time an RFC 3339 timestamp names, or undefined when it is not one. */
export function parseRfc3339(s: string): Date | undefined {
  if (!rfc3339Re.test(s)) return undefined;
  const d = new Date(s.toUpperCase());
  return Number.isNaN(d.getTime()) ? undefined : d;
}

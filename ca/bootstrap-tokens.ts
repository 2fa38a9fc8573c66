/**
 * Per-node bootstrap tokens for VMs and machines outside Kubernetes (mesh expansion). A VM has no
 * ServiceAccount token, so an operator gives each node a random token and registers its SHA-256
 * with the identity the node may request, in a YAML file and/or in Secrets the CA watches.
 *
 * The file (`--bootstrap-token-file`; in a cluster a Secret mounted as a volume, reloaded when it
 * changes):
 *
 *   tokens:
 *     - node: vm-db-1              # a name for logs
 *       namespace: legacy
 *       serviceAccount: db
 *       sha256: 9f86d0...          # hex SHA-256 of the token; the token itself is not stored
 *
 * Secrets (on by default, `--bootstrap-token-secrets false` turns them off; read by
 * ca/bootstrap-token-secrets.ts), like Kubernetes' own bootstrap tokens: in the CA's namespace
 * (`--namespace`), of type `istio-lite.io/bootstrap-token`, one token each, with data keys
 * `node`, `namespace`, `serviceAccount`, `token-sha256` (hex SHA-256 of the token) and, optional,
 * `expiration` (RFC 3339; the token is refused after it) and `description`. Any other key (a
 * plain `token`) makes the Secret malformed: it is skipped with a warning naming it and the key.
 * `istio-lite vm bundle` creates them (`istio-vm-token-<node>`); by hand:
 *
 *   kubectl -n istio-system create secret generic istio-vm-token-db-1 \
 *     --type istio-lite.io/bootstrap-token --from-literal node=db-1 \
 *     --from-literal namespace=legacy --from-literal serviceAccount=db \
 *     --from-literal token-sha256="$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" \
 *     --from-literal expiration=2026-12-31T00:00:00Z
 *
 * Tokens from the file and from Secrets are merged: a hash listed twice for one identity is one
 * token; a hash listed for two different identities is refused for both (and logged).
 *
 * Make a token with `openssl rand -hex 32`, and its entry's sha256 with
 * `printf %s "$TOKEN" | sha256sum`; give the token to the node in a file readable by the agent only.
 *
 * The node agent sends the token as `authorization: Bearer <token>` for its first certificate
 * and whenever its certificate has expired; renewals use the certificate (mutual TLS).
 */
import { bootstrapTokenHash } from '../lib/ca/bootstrap-token-secret.ts';
import { FieldReader } from '../lib/config/field-reader.ts';
import type { Logger } from '../lib/log.ts';
import { parseYamlDocument } from '../lib/yaml.ts';

export interface BootstrapToken {
  readonly node: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** After this the token is refused (Secrets' optional `expiration`). */
  readonly expiresAt?: Date;
  /** Where it is listed (`Secret istio-system/istio-vm-token-db-1`), for logs. */
  readonly source?: string;
}

/** A hash listed for two different identities: refused for both. */
export interface ConflictingBootstrapToken {
  /** What clashed, for the refusal and the log. */
  readonly conflict: string;
}

/** Tokens by the hex SHA-256 of the token. */
export type BootstrapTokens = ReadonlyMap<string, BootstrapToken | ConflictingBootstrapToken>;

const WHAT = 'bootstrap token file';

export function parseBootstrapTokens(
  text: string,
  source: string,
): ReadonlyMap<string, BootstrapToken> {
  const r = new FieldReader(parseYamlDocument(text, source), { what: `${WHAT} ${source}` });
  const out = new Map<string, BootstrapToken>();
  for (const t of r.list('tokens')) {
    const node = t.string('node', '');
    const namespace = t.string('namespace', '');
    const serviceAccount = t.string('serviceAccount', '');
    const sha256 = t.string('sha256', '').toLowerCase();
    if (node === '') t.fail('node', 'is required');
    if (namespace === '') t.fail('namespace', 'is required');
    if (serviceAccount === '') t.fail('serviceAccount', 'is required');
    if (!/^[0-9a-f]{64}$/.test(sha256))
      t.fail('sha256', 'must be 64 hex digits (sha256 of the token)');
    if (out.has(sha256)) t.fail('sha256', `duplicates another entry's token`);
    t.done();
    out.set(sha256, { node, namespace, serviceAccount, source: `file ${source}` });
  }
  r.done();
  return out;
}

export function tokenHash(token: string): string {
  return bootstrapTokenHash(token);
}

export function lookupBootstrapToken(
  tokens: BootstrapTokens,
  token: string,
): BootstrapToken | ConflictingBootstrapToken | undefined {
  return tokens.get(tokenHash(token));
}

export function isConflict(
  t: BootstrapToken | ConflictingBootstrapToken,
): t is ConflictingBootstrapToken {
  return 'conflict' in t;
}

function describe(t: BootstrapToken): string {
  return `node ${t.node} as ${t.namespace}/${t.serviceAccount}${t.source === undefined ? '' : ` (${t.source})`}`;
}

/**
 * Merges token lists (the file's, the Secrets'), in order: a hash listed again for the same
 * identity keeps the first entry; a hash listed for another identity becomes a conflict. Returns
 * the merged tokens and one message per conflicting hash.
 */
export function mergeBootstrapTokens(
  lists: readonly Iterable<readonly [string, BootstrapToken]>[],
): { readonly tokens: BootstrapTokens; readonly conflicts: readonly string[] } {
  const seen = new Map<string, BootstrapToken[]>();
  for (const list of lists) {
    for (const [hash, t] of list) {
      const all = seen.get(hash);
      if (all === undefined) seen.set(hash, [t]);
      else all.push(t);
    }
  }
  const tokens = new Map<string, BootstrapToken | ConflictingBootstrapToken>();
  const conflicts: string[] = [];
  for (const [hash, all] of seen) {
    const [first] = all;
    if (first === undefined) continue;
    const others = all.filter(
      (t) => t.namespace !== first.namespace || t.serviceAccount !== first.serviceAccount,
    );
    if (others.length === 0) {
      tokens.set(hash, first);
      continue;
    }
    const conflict = `bootstrap token ${hash.slice(0, 12)}… is listed for different identities: ${all.map(describe).join('; ')}`;
    tokens.set(hash, { conflict });
    conflicts.push(conflict);
  }
  return { tokens, conflicts };
}

/**
 * The merged view of several token sources, recomputed only when one of them returns a new value
 * (by reference). Each conflict is logged once, when it first appears.
 */
export function mergedBootstrapTokens(
  sources: readonly (() => Iterable<readonly [string, BootstrapToken]>)[],
  logger: Logger,
): () => BootstrapTokens {
  let inputs: readonly unknown[] = [];
  let merged: BootstrapTokens = new Map();
  let logged = new Set<string>();
  return () => {
    const now = sources.map((s) => s());
    if (now.length === inputs.length && now.every((v, i) => v === inputs[i])) return merged;
    inputs = now;
    const { tokens, conflicts } = mergeBootstrapTokens(now);
    for (const c of conflicts) {
      if (!logged.has(c)) logger.warn({ conflict: c }, 'bootstrap token refused: two identities');
    }
    logged = new Set(conflicts);
    merged = tokens;
    return merged;
  };
}

/**
 * Per-node bootstrap tokens for VMs and machines outside Kubernetes (mesh expansion). A VM has no
 * ServiceAccount token, so an operator gives each node a random token and lists its SHA-256 with
 * the identity the node may request, in a YAML file the CA reads (in a cluster: a Secret mounted
 * as a volume, reloaded when it changes):
 *
 *   tokens:
 *     - node: vm-db-1              # a name for logs
 *       namespace: legacy
 *       serviceAccount: db
 *       sha256: 9f86d0...          # hex SHA-256 of the token; the token itself is not stored
 *
 * Make a token with `openssl rand -hex 32`, and its entry's sha256 with
 * `printf %s "$TOKEN" | sha256sum`; give the token to the node in a file readable by the agent only.
 *
 * The node agent sends the token as `authorization: Bearer <token>` for its first certificate
 * and whenever its certificate has expired; renewals use the certificate (mutual TLS).
 */
import { createHash } from 'node:crypto';
import { FieldReader } from '../lib/config/field-reader.ts';
import { parseYamlDocument } from '../lib/yaml.ts';

export interface BootstrapToken {
  readonly node: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export type BootstrapTokens = ReadonlyMap<string, BootstrapToken>;

const WHAT = 'bootstrap token file';

export function parseBootstrapTokens(text: string, source: string): BootstrapTokens {
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
    out.set(sha256, { node, namespace, serviceAccount });
  }
  r.done();
  return out;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function lookupBootstrapToken(
  tokens: BootstrapTokens,
  token: string,
): BootstrapToken | undefined {
  return tokens.get(tokenHash(token));
}

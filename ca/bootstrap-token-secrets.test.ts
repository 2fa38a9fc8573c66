import assert from 'node:assert/strict';
import type { V1Secret } from '@kubernetes/client-node';
import {
  BootstrapTokenSecret,
  bootstrapTokenHash,
  bootstrapTokenSecret,
  parseRfc3339,
} from '../lib/ca/bootstrap-token-secret.ts';
import { createLogger } from '../lib/log.ts';
import { createAuthenticator } from './authn.ts';
import { parseBootstrapTokenSecret } from './bootstrap-token-secrets.ts';
import {
  mergeBootstrapTokens,
  mergedBootstrapTokens,
  parseBootstrapTokens,
  type BootstrapToken,
} from './bootstrap-tokens.ts';
import { isCaRefusal } from './refusal.ts';

const token = 'vm-secret-token';
const hash = bootstrapTokenHash(token);

function secret(data: Record<string, string>, name = 'istio-vm-token-db-1'): V1Secret {
  return {
    metadata: { name, namespace: 'istio-system' },
    type: BootstrapTokenSecret.Type,
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
  };
}

const good = {
  node: 'db-1',
  namespace: 'legacy',
  serviceAccount: 'db',
  'token-sha256': hash,
};

describe('bootstrap token Secrets', () => {
  it('reads node, identity, hash and expiration, naming the Secret as the source', () => {
    const [h, t] = parseBootstrapTokenSecret(
      secret({ ...good, expiration: '2030-01-02T03:04:05Z', description: 'the db VM' }),
    );
    assert.equal(h, hash);
    assert.deepEqual(t, {
      node: 'db-1',
      namespace: 'legacy',
      serviceAccount: 'db',
      expiresAt: new Date('2030-01-02T03:04:05Z'),
      source: 'Secret istio-system/istio-vm-token-db-1',
    });
  });

  it('reads what bootstrapTokenSecret writes (vm bundle), upper-case hex included', () => {
    const s = bootstrapTokenSecret({
      name: 'istio-vm-token-x',
      secretNamespace: 'istio-system',
      node: 'x',
      namespace: 'legacy',
      serviceAccount: 'db',
      tokenSha256: hash.toUpperCase(),
      expiration: new Date('2031-05-06T07:08:09.500Z'),
    });
    assert.equal(s.type, 'istio-lite.io/bootstrap-token');
    assert.deepEqual(s.metadata?.labels, {
      'istio-lite.io/vm-namespace': 'legacy',
      'istio-lite.io/vm-service-account': 'db',
      'istio-lite.io/vm-node': 'x',
    });
    const [h, t] = parseBootstrapTokenSecret(s);
    assert.equal(h, hash);
    assert.deepEqual(t.expiresAt, new Date('2031-05-06T07:08:09Z'));
  });

  const bad: { name: string; data: Record<string, string>; message: RegExp }[] = [
    {
      name: 'a missing node',
      data: { ...good, node: '' },
      message: /istio-vm-token-db-1: data\.node: is required/,
    },
    {
      name: 'a short hash',
      data: { ...good, 'token-sha256': 'abc' },
      message: /istio-vm-token-db-1: data\.token-sha256: must be 64 hex digits/,
    },
    {
      name: 'a bad expiration',
      data: { ...good, expiration: 'tomorrow' },
      message: /data\.expiration: "tomorrow" is not an RFC 3339 time/,
    },
    {
      name: 'the token itself',
      data: { ...good, token },
      message: /data\.token: unknown field/,
    },
    {
      name: 'a bad namespace',
      data: { ...good, namespace: 'Legacy_NS' },
      message: /data\.namespace: "Legacy_NS" is not a namespace name/,
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}, naming the Secret and the field`, () => {
      assert.throws(
        () => parseBootstrapTokenSecret(secret(c.data)),
        (e: unknown) =>
          e instanceof Error &&
          /^bootstrap token Secret istio-system\/istio-vm-token-db-1: /.test(e.message) &&
          c.message.test(e.message),
      );
    });
  }

  it('parses RFC 3339 with offsets and fractions, and nothing else', () => {
    assert.deepEqual(parseRfc3339('2030-01-01T01:00:00+01:00'), new Date('2030-01-01T00:00:00Z'));
    assert.deepEqual(parseRfc3339('2030-01-01t00:00:00.25z'), new Date('2030-01-01T00:00:00.25Z'));
    for (const s of ['2030-01-01', '2030-01-01 00:00:00Z', '2030-13-01T00:00:00Z', '1700000000']) {
      assert.equal(parseRfc3339(s), undefined, s);
    }
  });
});

describe('merging bootstrap tokens', () => {
  const fileTokens = parseBootstrapTokens(
    `tokens:\n  - {node: db-1, namespace: legacy, serviceAccount: db, sha256: ${hash}}\n`,
    'tokens.yaml',
  );
  const fromSecret = (over: Partial<BootstrapToken>): [string, BootstrapToken] => [
    hash,
    {
      node: 'db-1',
      namespace: 'legacy',
      serviceAccount: 'db',
      source: 'Secret istio-system/t',
      ...over,
    },
  ];

  it('keeps one entry for a token listed in both for the same identity', () => {
    const { tokens, conflicts } = mergeBootstrapTokens([fileTokens, [fromSecret({})]]);
    assert.deepEqual(conflicts, []);
    assert.deepEqual(tokens.get(hash), fileTokens.get(hash));
  });

  it('refuses a hash listed for two identities, naming both', () => {
    const { tokens, conflicts } = mergeBootstrapTokens([
      fileTokens,
      [fromSecret({ serviceAccount: 'admin' })],
    ]);
    assert.equal(conflicts.length, 1);
    assert.match(
      conflicts[0] ?? '',
      /listed for different identities: node db-1 as legacy\/db \(file tokens\.yaml\); node db-1 as legacy\/admin \(Secret istio-system\/t\)/,
    );
    assert.deepEqual(tokens.get(hash), { conflict: conflicts[0] });
  });

  it('recomputes only when a source changes, and logs a conflict once', () => {
    const lines: string[] = [];
    const logger = createLogger('t', {
      level: 'warn',
      destination: { write: (l: string) => lines.push(l) },
    });
    let secrets: [string, BootstrapToken][] = [fromSecret({ serviceAccount: 'admin' })];
    const view = mergedBootstrapTokens([() => fileTokens, () => secrets], logger);
    const first = view();
    assert.equal(view(), first);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /two identities/);
    secrets = [...secrets];
    view();
    assert.equal(lines.length, 1, 'the same conflict is not logged again');
    secrets = [];
    assert.deepEqual(view().get(hash), fileTokens.get(hash));
  });
});

describe('authentication with expiring and conflicting bootstrap tokens', () => {
  const now = new Date('2030-06-01T00:00:00Z');
  const authn = (entries: [string, BootstrapToken][]) =>
    createAuthenticator({
      trustDomain: 'cluster.local',
      bootstrapTokens: () => mergeBootstrapTokens([entries]).tokens,
      now: () => now,
    });
  const entry = (over: Partial<BootstrapToken>): [string, BootstrapToken] => [
    hash,
    { node: 'db-1', namespace: 'legacy', serviceAccount: 'db', source: 'Secret s/t', ...over },
  ];
  const refusedWith = (message: RegExp) => (e: unknown) =>
    isCaRefusal(e) && e.reason === 'unauthenticated' && message.test(e.message);

  it('accepts a token before its expiration', async () => {
    const caller = await authn([entry({ expiresAt: new Date('2030-06-01T00:00:01Z') })])({
      authorization: `Bearer ${token}`,
    });
    assert.equal(caller.identity, 'spiffe://cluster.local/ns/legacy/sa/db');
  });

  it('refuses an expired token, saying which and when', async () => {
    await assert.rejects(
      authn([entry({ expiresAt: new Date('2030-05-31T00:00:00Z') })])({
        authorization: `Bearer ${token}`,
      }),
      refusedWith(
        /^bootstrap token of node db-1 \(Secret s\/t\) expired at 2030-05-31T00:00:00\.000Z$/,
      ),
    );
  });

  it('refuses a conflicting token', async () => {
    await assert.rejects(
      authn([entry({}), entry({ namespace: 'other' })])({ authorization: `Bearer ${token}` }),
      refusedWith(/listed for different identities/),
    );
  });
});

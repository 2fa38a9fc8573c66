import assert from 'node:assert/strict';
import { createAuthenticator } from './authn.ts';
import { lookupBootstrapToken, parseBootstrapTokens, tokenHash } from './bootstrap-tokens.ts';
import { isCaRefusal } from './refusal.ts';

const hash = tokenHash('secret-token');

describe('bootstrap tokens', () => {
  it('finds a node by its token, never storing the token', () => {
    const text = `tokens:\n  - node: vm-1\n    namespace: legacy\n    serviceAccount: db\n    sha256: ${hash.toUpperCase()}\n`;
    const tokens = parseBootstrapTokens(text, 'tokens.yaml');
    assert.deepEqual(lookupBootstrapToken(tokens, 'secret-token'), {
      node: 'vm-1',
      namespace: 'legacy',
      serviceAccount: 'db',
      source: 'file tokens.yaml',
    });
    assert.equal(lookupBootstrapToken(tokens, 'other'), undefined);
    assert.ok(!JSON.stringify([...tokens]).includes('secret-token'));
  });

  const bad: { name: string; text: string; message: RegExp }[] = [
    {
      name: 'a short hash',
      text: 'tokens:\n  - {node: a, namespace: b, serviceAccount: c, sha256: abc}\n',
      message: /tokens\[0\]\.sha256: must be 64 hex digits/,
    },
    {
      name: 'a missing namespace',
      text: `tokens:\n  - {node: a, serviceAccount: c, sha256: ${hash}}\n`,
      message: /tokens\[0\]\.namespace: is required/,
    },
    {
      name: 'an unknown field (a plain token)',
      text: `tokens:\n  - {node: a, namespace: b, serviceAccount: c, sha256: ${hash}, token: x}\n`,
      message: /tokens\[0\]\.token: unknown field/,
    },
    {
      name: 'a duplicated token',
      text: `tokens:\n  - {node: a, namespace: b, serviceAccount: c, sha256: ${hash}}\n  - {node: d, namespace: b, serviceAccount: c, sha256: ${hash}}\n`,
      message: /tokens\[1\]\.sha256: duplicates/,
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}, naming the field`, () => {
      assert.throws(() => parseBootstrapTokens(c.text, 'tokens.yaml'), c.message);
    });
  }
});

describe('authentication', () => {
  const tokens = parseBootstrapTokens(
    `tokens:\n  - {node: vm-1, namespace: legacy, serviceAccount: db, sha256: ${hash}}\n`,
    't',
  );
  const authn = createAuthenticator({ trustDomain: 'example.org', bootstrapTokens: () => tokens });

  it('maps a bootstrap token to its identity in the trust domain', async () => {
    const caller = await authn({ authorization: 'Bearer secret-token' });
    assert.deepEqual(caller, {
      identity: 'spiffe://example.org/ns/legacy/sa/db',
      method: 'bootstrap_token',
      detail: 'vm-1',
    });
  });

  const refused: { name: string; authorization?: string; message: RegExp }[] = [
    { name: 'nothing', message: /^no credential/ },
    { name: 'a non-Bearer scheme', authorization: 'Basic abc', message: /not "Bearer <token>"/ },
    {
      name: 'an unknown token without Kubernetes',
      authorization: 'Bearer nope',
      message: /not a known bootstrap token, and ServiceAccount tokens cannot be checked/,
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} as unauthenticated`, async () => {
      await assert.rejects(
        authn(c.authorization === undefined ? {} : { authorization: c.authorization }),
        (e: unknown) =>
          isCaRefusal(e) && e.reason === 'unauthenticated' && c.message.test(e.message),
      );
    });
  }
});

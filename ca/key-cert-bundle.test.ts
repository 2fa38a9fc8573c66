import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { ErrorCode, isIstioLiteError } from '../lib/errors.ts';
import { loadKeyCertBundle, createSelfSignedRoot } from './key-cert-bundle.ts';
import { day, testIntermediate, testRoot } from './testing/fixtures.ts';

function configError(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isIstioLiteError(e));
    assert.equal(e.code, ErrorCode.InvalidConfig);
    assert.match(e.message, pattern);
    return true;
  };
}

describe('key and certificate bundles', () => {
  it('creates a self-signed root with the configured TTL and organization', async () => {
    const pem = await createSelfSignedRoot({
      keyAlgorithm: 'ecdsa-p256',
      ttlMs: 3650 * day,
      org: 'example.org',
    });
    const b = loadKeyCertBundle(pem, 'test');
    assert.equal(b.root.ca, true);
    assert.equal(b.rootPem, new X509Certificate(pem.caCertPem).toString());
    assert.match(b.root.subject, /O=example.org/);
    const years = (b.root.validToDate.getTime() - Date.now()) / (365 * day);
    assert.ok(years > 9.9 && years < 10.1, `root TTL ~10 years, got ${years}`);
  });

  it('loads cacerts with an intermediate', async () => {
    const inter = testIntermediate(await testRoot());
    const b = loadKeyCertBundle(inter, 'Secret cacerts');
    assert.equal(b.intermediatesPem.length, 0, 'the signing cert itself is not an intermediate');
    assert.notEqual(b.signingCertPem, b.rootPem);
  });

  it('refuses a key that does not match the certificate', async () => {
    const a = await testRoot();
    const other = await testRoot();
    assert.throws(
      () => loadKeyCertBundle({ ...a, caKeyPem: other.caKeyPem }, 'Secret cacerts'),
      configError(/^Secret cacerts: ca-key.pem does not match the public key of ca-cert.pem/),
    );
  });

  it('refuses a signing certificate that is not a CA', async () => {
    const root = await testRoot();
    const { testAuthority, csrFor, identity } = await import('./testing/fixtures.ts');
    const ca = testAuthority(root);
    const { csr, keys } = await csrFor({ uris: [identity('a', 'b')] });
    const leaf = ca.signCsr(csr, identity('a', 'b'));
    assert.throws(
      () =>
        loadKeyCertBundle(
          {
            caCertPem: leaf.certPem,
            caKeyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            rootCertPem: root.caCertPem,
          },
          'flags',
        ),
      configError(/not a CA certificate/),
    );
  });

  it('refuses a chain that does not link to the root', async () => {
    const inter = testIntermediate(await testRoot());
    const stranger = await testRoot();
    assert.throws(
      () =>
        loadKeyCertBundle(
          { ...inter, certChainPem: undefined, rootCertPem: stranger.caCertPem } as never,
          'flags',
        ),
      configError(/certificate chain is broken/),
    );
  });

  it('refuses a non-self-signed certificate without a root', async () => {
    const inter = testIntermediate(await testRoot());
    assert.throws(
      () => loadKeyCertBundle({ caCertPem: inter.caCertPem, caKeyPem: inter.caKeyPem }, 'flags'),
      configError(/root-cert.pem is required/),
    );
  });

  it('refuses garbage PEM naming the field', () => {
    assert.throws(
      () => loadKeyCertBundle({ caCertPem: 'nope', caKeyPem: 'nope' }, 'Secret istio-ca-secret'),
      configError(/Secret istio-ca-secret: ca-cert.pem holds no certificate/),
    );
  });
});

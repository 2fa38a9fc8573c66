import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { children, parseDer } from '../lib/pki/der.ts';
import { loadKeyCertBundle, type KeyCertPem } from './key-cert-bundle.ts';
import { csrFor, identity, opensslVerify, testAuthority } from './testing/fixtures.ts';

/** A root as an operator's tooling makes it: PrintableString and UTF8String values, a multi-valued RDN. */
function opensslRoot(): KeyCertPem {
  const dir = mkdtempSync(join(tmpdir(), 'openssl-root-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
        '-days',
        '2',
        '-subj',
        '/C=US/O=Corp Inc./OU=mesh+CN=Corp Root ü',
        '-multivalue-rdn',
        '-utf8',
      ],
      { stdio: 'pipe' },
    );
    const caCertPem = readFileSync(join(dir, 'c.pem'), 'utf8');
    return {
      caCertPem,
      caKeyPem: readFileSync(join(dir, 'k.pem'), 'utf8'),
      rootCertPem: caCertPem,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The subject Name of a certificate, the exact bytes it carries. */
function subjectBytes(der: Buffer): string {
  const [tbs] = children(parseDer(der));
  const fields = tbs ? children(tbs) : [];
  return fields[5]?.raw.toString('hex') ?? '';
}

function issuerBytes(der: Buffer): string {
  const [tbs] = children(parseDer(der));
  const fields = tbs ? children(tbs) : [];
  return fields[3]?.raw.toString('hex') ?? '';
}

describe('a root made by openssl', () => {
  it('signs leaves whose issuer is its subject byte for byte, and openssl verifies them', async () => {
    const root = opensslRoot();
    const bundle = loadKeyCertBundle(root, 'test');
    assert.equal(bundle.issuer.subject.toString('hex'), subjectBytes(bundle.signingCert.raw));
    const ca = testAuthority(root);
    const me = identity('default', 'foo');
    const issued = ca.signCsr((await csrFor({ uris: [me] })).csr, me);
    const leaf = new X509Certificate(issued.certPem);
    assert.equal(issuerBytes(leaf.raw), subjectBytes(bundle.signingCert.raw));
    assert.match(opensslVerify(issued.chainPem, ca.rootPem, 'sslclient'), /OK/);
  });
});

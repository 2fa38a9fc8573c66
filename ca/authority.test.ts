import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { ErrorCode } from '../lib/errors.ts';
import { ecdsaSha256, generateKeysSync, type KeyAlgorithm } from '../lib/pki/keys.ts';
import { createCsrPem } from '../lib/pki/csr.ts';
import { basicConstraintsExtension } from '../lib/pki/certificate-builder.ts';
import type { CertificateAuthority } from './authority.ts';
import { isCaRefusal, type RefusalReason } from './refusal.ts';
import {
  csrFor,
  day,
  identity,
  opensslText,
  opensslVerify,
  testAuthority,
  testIntermediate,
  testRoot,
} from './testing/fixtures.ts';

const me = identity('default', 'foo');

describe('CertificateAuthority', () => {
  let ca: CertificateAuthority;

  before(async () => {
    ca = testAuthority(await testRoot());
  });

  for (const alg of ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'] as const satisfies KeyAlgorithm[]) {
    it(`issues a leaf for a ${alg} CSR that openssl verifies, with the docs/reference/ca.md leaf profile`, async () => {
      const { csr } = await csrFor({ uris: [me] }, alg);
      const issued = ca.signCsr(csr, me);
      assert.equal(issued.chainPem.length, 2);
      assert.equal(issued.chainPem[1], ca.rootPem);
      assert.match(opensslVerify(issued.chainPem, ca.rootPem, 'sslclient'), /OK/);
      assert.match(opensslVerify(issued.chainPem, ca.rootPem, 'sslserver'), /OK/);
      const text = opensslText(issued.certPem);
      assert.match(
        text,
        /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/foo\n/,
      );
      assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
      assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
      const cert = new X509Certificate(issued.certPem);
      assert.equal(cert.ca, false);
      assert.equal(cert.subjectAltName, `URI:${me}`);
      const lifetime = cert.validToDate.getTime() - Date.now();
      assert.ok(
        lifetime > day - 5_000 && lifetime <= day,
        `default TTL is 24h, got ${lifetime} ms`,
      );
    });
  }

  it('signs with an RSA root too', async () => {
    const rsa = testAuthority(await testRoot('rsa-2048'));
    const { csr } = await csrFor({ uris: [me] });
    const issued = rsa.signCsr(csr, me);
    assert.match(opensslVerify(issued.chainPem, rsa.rootPem), /OK/);
    assert.match(opensslText(issued.certPem), /Signature Algorithm: sha256WithRSAEncryption/);
  });

  it('honours a requested TTL and refuses one above the maximum', async () => {
    const { csr } = await csrFor({ uris: [me] });
    const short = new X509Certificate(ca.signCsr(csr, me, 3_600_000).certPem);
    assert.ok(Math.abs(short.validToDate.getTime() - Date.now() - 3_600_000) < 5_000);
    assert.throws(
      () => ca.signCsr(csr, me, 91 * day),
      (e: unknown) =>
        isCaRefusal(e) && e.reason === 'bad_ttl' && /exceeds the maximum/.test(e.message),
    );
  });

  it('chains leaves to a cacerts root through the intermediate', async () => {
    const root = await testRoot('ecdsa-p256', 'corp root');
    const inter = testIntermediate(root);
    const ica = testAuthority(inter);
    const { csr } = await csrFor({ uris: [me] });
    const issued = ica.signCsr(csr, me);
    assert.equal(issued.chainPem.length, 3, 'leaf, intermediate, root');
    assert.equal(issued.chainPem[2], ica.rootPem);
    assert.equal(new X509Certificate(issued.chainPem[1]!).subject, 'O=intermediate');
    assert.match(opensslVerify(issued.chainPem, ica.rootPem), /OK/);
    assert.throws(() => {
      opensslVerify([issued.certPem], ica.rootPem);
    }, /unable to get local issuer certificate/);
  });

  it('refuses a chain from a foreign root (openssl)', async () => {
    const other = testAuthority(await testRoot());
    const { csr } = await csrFor({ uris: [me] });
    const issued = other.signCsr(csr, me);
    assert.throws(() => {
      opensslVerify(issued.chainPem.slice(0, 1), ca.rootPem);
    }, /unable to get local issuer certificate|certificate signature failure/);
  });
});

interface RefusalCase {
  readonly name: string;
  readonly csr: () => Promise<string> | string;
  readonly reason: RefusalReason;
  readonly code: ErrorCode;
  readonly message: RegExp;
}

const cases: RefusalCase[] = [
  {
    name: 'not PEM',
    csr: () => 'hello',
    reason: 'bad_csr',
    code: ErrorCode.InvalidRequest,
    message: /expected one PEM block, found 0/,
  },
  {
    name: 'broken base64',
    csr: () => '-----BEGIN CERTIFICATE REQUEST-----\n@@@@\n-----END CERTIFICATE REQUEST-----\n',
    reason: 'bad_csr',
    code: ErrorCode.InvalidRequest,
    message: /not valid base64/,
  },
  {
    name: 'a certificate instead of a CSR',
    csr: async () => (await testRoot()).caCertPem,
    reason: 'bad_csr',
    code: ErrorCode.InvalidRequest,
    message: /expected a PEM "CERTIFICATE REQUEST", got "CERTIFICATE"/,
  },
  {
    name: 'garbage DER',
    csr: () => '-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n',
    reason: 'bad_csr',
    code: ErrorCode.InvalidRequest,
    message: /malformed PKCS#10/,
  },
  {
    name: 'a tampered signature',
    csr: async () => {
      const { keys } = await csrFor({ uris: [me] });
      const other = generateKeysSync('ecdsa-p256');
      // Signed by one key, carrying another's public key.
      return createCsrPem({
        privateKey: other.privateKey,
        publicKey: keys.publicKey,
        sans: { uris: [me] },
      });
    },
    reason: 'bad_csr',
    code: ErrorCode.InvalidRequest,
    message: /signature does not verify/,
  },
  {
    name: 'an RSA 1024 key',
    csr: () => rsa1024Csr,
    reason: 'weak_key',
    code: ErrorCode.InvalidRequest,
    message: /key RSA 1024 is not allowed: use ECDSA P-256 or P-384, or RSA of 2048/,
  },
  {
    name: 'a secp256k1 key',
    csr: () => secp256k1Csr,
    reason: 'weak_key',
    code: ErrorCode.InvalidRequest,
    message: /key ECDSA secp256k1 is not allowed/,
  },
  {
    name: 'CA:true',
    csr: async () =>
      (await csrFor({ uris: [me] }, 'ecdsa-p256', [basicConstraintsExtension(true)])).csr,
    reason: 'ca_requested',
    code: ErrorCode.InvalidRequest,
    message: /requests a CA certificate/,
  },
  {
    name: 'no SAN',
    csr: async () => (await csrFor({})).csr,
    reason: 'no_identity',
    code: ErrorCode.InvalidRequest,
    message: /no URI SAN/,
  },
  {
    name: 'an extra DNS SAN',
    csr: async () => (await csrFor({ uris: [me], dnsNames: ['evil.example.com'] })).csr,
    reason: 'extra_san',
    code: ErrorCode.PermissionDenied,
    message: /may only request its own identity.*DNS:evil\.example\.com/,
  },
  {
    name: 'an extra IP SAN',
    csr: async () => (await csrFor({ uris: [me], ips: ['10.0.0.1'] })).csr,
    reason: 'extra_san',
    code: ErrorCode.PermissionDenied,
    message: /IP:10\.0\.0\.1/,
  },
  {
    name: 'two URI SANs',
    csr: async () => (await csrFor({ uris: [me, identity('kube-system', 'admin')] })).csr,
    reason: 'extra_san',
    code: ErrorCode.PermissionDenied,
    message: /sa\/admin/,
  },
  {
    name: "another workload's identity",
    csr: async () => (await csrFor({ uris: [identity('default', 'bar')] })).csr,
    reason: 'identity_mismatch',
    code: ErrorCode.PermissionDenied,
    message:
      /asks for identity spiffe:\/\/cluster\.local\/ns\/default\/sa\/bar but the caller is .*sa\/foo/,
  },
];

let rsa1024Csr = '';
let secp256k1Csr = '';

describe('CSR refusals', () => {
  let ca: CertificateAuthority;

  before(async () => {
    ca = testAuthority(await testRoot());
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    rsa1024Csr = createCsrPem({ ...rsa, sans: { uris: [me] } });
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    secp256k1Csr = createCsrPem({ ...k1, sans: { uris: [me] }, signatureAlgorithm: ecdsaSha256 });
  });

  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const csr = await c.csr();
      assert.throws(
        () => ca.signCsr(csr, me),
        (e: unknown) => {
          assert.ok(isCaRefusal(e), `expected a CaRefusal, got ${String(e)}`);
          assert.equal(e.reason, c.reason);
          assert.equal(e.code, c.code);
          assert.match(e.message, c.message);
          return true;
        },
      );
    });
  }
});

/**
 * Test helpers for the CA: a fresh root (and optional intermediate), CSRs for an identity, and
 * `openssl verify` of an issued chain. Used by unit, cluster and benchmark code; never by servers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsrPem } from '../../lib/pki/csr.ts';
import {
  generateKeys,
  generateKeysSync,
  spkiDer,
  type KeyAlgorithm,
  type KeyPair,
} from '../../lib/pki/keys.ts';
import { Oid } from '../../lib/pki/oids.ts';
import { pemEncode } from '../../lib/pki/pem.ts';
import { name, type SubjectAltNames } from '../../lib/pki/x509-parts.ts';
import { CertificateAuthority } from '../authority.ts';
import { buildCertificate, caExtensions } from '../../lib/pki/certificate-builder.ts';
import { issuerFields } from '../../lib/pki/cert-fields.ts';
import type { x509 } from '../../lib/pki/x509.ts';
import { createSelfSignedRoot, loadKeyCertBundle, type KeyCertPem } from '../key-cert-bundle.ts';

export const day = 86_400_000;

export async function testRoot(
  alg: KeyAlgorithm = 'ecdsa-p256',
  org = 'cluster.local',
): Promise<KeyCertPem> {
  return createSelfSignedRoot({ keyAlgorithm: alg, ttlMs: 3650 * day, org });
}

/** An intermediate CA signed by `root`, as a `cacerts` Secret holds it. */
export function testIntermediate(root: KeyCertPem, org = 'intermediate'): KeyCertPem {
  const parent = loadKeyCertBundle(root, 'test root');
  const keys = generateKeysSync('ecdsa-p256');
  const spki = spkiDer(keys.publicKey);
  const der = buildCertificate(
    {
      subject: name([{ oid: Oid.organization, value: org }]),
      issuer: parent.issuer.subject,
      spki,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 365 * day),
      extensions: caExtensions({ spki, issuerKeyId: issuerFields(parent.signingCert.raw).keyId }),
    },
    parent.signingKey,
  );
  const caCertPem = pemEncode('CERTIFICATE', der);
  const rootCertPem = parent.rootPem;
  return {
    caCertPem,
    caKeyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certChainPem: caCertPem + rootCertPem,
    rootCertPem,
  };
}

export function testAuthority(pem: KeyCertPem, maxTtlMs = 90 * day): CertificateAuthority {
  return new CertificateAuthority({
    bundle: loadKeyCertBundle(pem, 'test'),
    defaultTtlMs: day,
    maxTtlMs,
  });
}

export function identity(ns: string, sa: string): string {
  return `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
}

export async function csrFor(
  sans: SubjectAltNames,
  alg: KeyAlgorithm = 'ecdsa-p256',
  extraExtensions: readonly x509.Extension[] = [],
): Promise<{ csr: string; keys: KeyPair }> {
  const keys = await generateKeys(alg);
  return { csr: createCsrPem({ ...keys, sans, extraExtensions }), keys };
}

/**
 * `openssl verify` of a leaf-first chain against `rootPem` (intermediates as untrusted);
 * returns openssl's output, throws with it on failure.
 */
export function opensslVerify(
  chainPem: readonly string[],
  rootPem: string,
  purpose?: string,
): string {
  const dir = mkdtempSync(join(tmpdir(), 'ca-verify-'));
  try {
    const [leaf, ...rest] = chainPem;
    const inter = rest.filter((c) => c !== rootPem);
    writeFileSync(join(dir, 'root.pem'), rootPem);
    writeFileSync(join(dir, 'leaf.pem'), leaf ?? '');
    writeFileSync(join(dir, 'inter.pem'), inter.join(''));
    const args = ['verify', '-CAfile', join(dir, 'root.pem')];
    if (inter.length > 0) args.push('-untrusted', join(dir, 'inter.pem'));
    if (purpose) args.push('-purpose', purpose);
    args.push(join(dir, 'leaf.pem'));
    return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl x509 -text` of one certificate. */
export function opensslText(certPem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: certPem, encoding: 'utf8' });
}

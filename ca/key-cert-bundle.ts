/**
 * The CA's signing material: key, signing certificate, the chain above it and the root. Loaded
 * from PEM (Secret `istio-ca-secret`, Secret `cacerts` or flags) and checked once: the key matches
 * the certificate, the certificate is a CA and is valid now, and the chain links up to the root.
 * A self-signed root is created here too.
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { generateKeys, spkiDer, type KeyAlgorithm } from '../lib/pki/keys.ts';
import { Oid } from '../lib/pki/oids.ts';
import { pemEncode, splitCertificates } from '../lib/pki/pem.ts';
import { name } from '../lib/pki/x509-parts.ts';
import { buildCertificate, caExtensions } from '../lib/pki/certificate-builder.ts';
import { issuerFields, type IssuerFields } from '../lib/pki/cert-fields.ts';

export interface KeyCertPem {
  /** The signing certificate (`ca-cert.pem`). */
  readonly caCertPem: string;
  /** Its private key (`ca-key.pem`). */
  readonly caKeyPem: string;
  /** Certificates from the signing certificate up to the root (`cert-chain.pem`); optional. */
  readonly certChainPem?: string;
  /** The root (`root-cert.pem`); optional when the signing certificate is itself the root. */
  readonly rootCertPem?: string;
}

export interface KeyCertBundle {
  readonly signingKey: KeyObject;
  readonly signingCert: X509Certificate;
  readonly signingCertPem: string;
  /** Certificates strictly between the signing certificate and the root, nearest first. */
  readonly intermediatesPem: readonly string[];
  readonly rootPem: string;
  readonly root: X509Certificate;
  readonly issuer: IssuerFields;
  /** The PEM this bundle was loaded from (to persist or compare). */
  readonly source: KeyCertPem;
}

function invalid(where: string, message: string, cause?: unknown): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidConfig, `${where}: ${message}`, { cause });
}

function parseCert(pem: string, where: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw invalid(where, `not a PEM certificate: ${errorMessage(e)}`, e);
  }
}

function isSelfSigned(c: X509Certificate): boolean {
  return c.checkIssued(c) && c.verify(c.publicKey);
}

function samePem(a: X509Certificate, b: X509Certificate): boolean {
  return a.raw.equals(b.raw);
}

/** Loads and checks PEM signing material; `where` names its source in errors (a Secret or flags). */
export function loadKeyCertBundle(pem: KeyCertPem, where: string, now = new Date()): KeyCertBundle {
  const [firstCert] = splitCertificates(pem.caCertPem);
  if (firstCert === undefined) throw invalid(where, 'ca-cert.pem holds no certificate');
  const signingCert = parseCert(firstCert, `${where} ca-cert.pem`);
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(pem.caKeyPem);
  } catch (e) {
    throw invalid(where, `ca-key.pem is not a PEM private key: ${errorMessage(e)}`, e);
  }
  if (!spkiDer(createPublicKey(signingKey)).equals(spkiDer(signingCert.publicKey))) {
    throw invalid(where, 'ca-key.pem does not match the public key of ca-cert.pem');
  }
  if (!signingCert.ca)
    throw invalid(where, 'ca-cert.pem is not a CA certificate (basicConstraints CA:true)');
  if (now < signingCert.validFromDate || now > signingCert.validToDate) {
    throw invalid(
      where,
      `ca-cert.pem is not valid now (valid ${signingCert.validFrom} to ${signingCert.validTo})`,
    );
  }

  const chain = splitCertificates(pem.certChainPem ?? '').map((c, i) =>
    parseCert(c, `${where} cert-chain.pem[${i}]`),
  );
  const rootPemIn =
    pem.rootCertPem ?? (isSelfSigned(signingCert) ? firstCert : chain.at(-1)?.toString());
  if (rootPemIn === undefined) {
    throw invalid(where, 'root-cert.pem is required when ca-cert.pem is not self-signed');
  }
  const root = parseCert(rootPemIn, `${where} root-cert.pem`);
  if (!isSelfSigned(root)) throw invalid(where, 'root-cert.pem is not a self-signed root');

  // The path: signing cert, then chain certificates that are neither it nor the root.
  const intermediates = chain.filter((c) => !samePem(c, signingCert) && !samePem(c, root));
  const path = [signingCert, ...intermediates, root];
  for (let i = 0; i + 1 < path.length; i++) {
    const child = path[i];
    const parent = path[i + 1];
    if (child === undefined || parent === undefined || samePem(child, parent)) continue;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw invalid(
        where,
        `certificate chain is broken: "${child.subject}" is not signed by "${parent.subject}"`,
      );
    }
  }
  return {
    signingKey,
    signingCert,
    signingCertPem: pemEncode('CERTIFICATE', signingCert.raw),
    intermediatesPem: intermediates.map((c) => pemEncode('CERTIFICATE', c.raw)),
    rootPem: pemEncode('CERTIFICATE', root.raw),
    root,
    issuer: issuerFields(signingCert.raw),
    source: pem,
  };
}

export interface SelfSignedRootOptions {
  readonly keyAlgorithm: KeyAlgorithm;
  readonly ttlMs: number;
  /** Subject organization (the trust domain by default). */
  readonly org: string;
  readonly now?: Date;
}

/** A new self-signed root: key and certificate as PEM, ready to persist in `istio-ca-secret`. */
export async function createSelfSignedRoot(opts: SelfSignedRootOptions): Promise<KeyCertPem> {
  const keys = await generateKeys(opts.keyAlgorithm);
  const now = opts.now ?? new Date();
  const spki = spkiDer(keys.publicKey);
  const subject = name([
    { oid: Oid.organization, value: opts.org },
    { oid: Oid.commonName, value: 'istio-lite root CA' },
  ]);
  const der = buildCertificate(
    {
      subject,
      issuer: subject,
      spki,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + opts.ttlMs),
      extensions: caExtensions({ spki }),
    },
    keys.privateKey,
  );
  const caCertPem = pemEncode('CERTIFICATE', der);
  const caKeyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { caCertPem, caKeyPem, rootCertPem: caCertPem };
}

/**
 * Where the workload's certificate comes from: the mounted `istio.<sa>` Secret (files) or a CSR
 * to the CA. SDS serves whatever the source holds and pushes every change to Envoy.
 *
 * Contract: `start` resolves with the first certificate (it may wait for one to appear; it
 * rejects only on a condition retrying cannot fix); afterwards `current` never returns undefined
 * and listeners are called, in order, after each change. A source never hands out a key that does
 * not match its chain.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import { splitCertificates } from '../../lib/pki/pem.ts';

export interface WorkloadCertificate {
  /** Leaf first, then intermediates (PEM). */
  readonly chainPem: string;
  readonly keyPem: string;
  /** The mesh root(s) peers are verified against (PEM). */
  readonly rootPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The leaf's URI SAN, e.g. spiffe://cluster.local/ns/shop/sa/reviews. */
  readonly identity: string | undefined;
}

export interface CertificateSource {
  start(): Promise<WorkloadCertificate>;
  current(): WorkloadCertificate | undefined;
  onChange(listener: (cert: WorkloadCertificate) => void): void;
  close(): void;
}

function invalid(message: string, cause?: unknown): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidInput, message, { cause });
}

function certificates(pem: string, what: string): string[] {
  try {
    return splitCertificates(pem);
  } catch (e) {
    throw invalid(`${what} is not PEM: ${errorMessage(e)}`, e);
  }
}

/**
 * Checks PEM material and returns it with the leaf's validity: the chain parses, the key is the
 * leaf's, and the root parses. Throws InvalidInput naming what is wrong.
 */
export function workloadCertificate(
  chainPem: string,
  keyPem: string,
  rootPem: string,
): WorkloadCertificate {
  const [leafPem] = certificates(chainPem, 'certificate chain');
  if (leafPem === undefined) throw invalid('certificate chain holds no certificate');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch (e) {
    throw invalid('certificate chain does not parse', e);
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch (e) {
    throw invalid('private key does not parse', e);
  }
  if (!matches) throw invalid("private key is not the certificate's key");
  const roots = certificates(rootPem, 'root certificate');
  if (roots.length === 0) throw invalid('root certificate file holds no certificate');
  for (const r of roots) {
    try {
      new X509Certificate(r);
    } catch (e) {
      throw invalid('root certificate does not parse', e);
    }
  }
  const uri = /URI:([^,\s]+)/.exec(leaf.subjectAltName ?? '')?.[1];
  return {
    chainPem,
    keyPem,
    rootPem,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    identity: uri,
  };
}

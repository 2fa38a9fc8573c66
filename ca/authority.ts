/**
 * The certificate authority: signs workload leaves for CSRs the policy accepts, and the CA's own
 * serving certificate. It holds one KeyCertBundle at a time; `setBundle` swaps it (root rotation).
 * Pure and synchronous: no I/O, so the in-process benchmark measures exactly this.
 */
import type { KeyObject } from 'node:crypto';
import { spkiDer } from '../lib/pki/keys.ts';
import { pemEncode } from '../lib/pki/pem.ts';
import { name, type SubjectAltNames } from '../lib/pki/x509-parts.ts';
import { Oid } from '../lib/pki/oids.ts';
import { buildCertificate, serverExtensions } from '../lib/pki/certificate-builder.ts';
import { WorkloadLeafWriter } from '../lib/pki/workload-leaf.ts';
import { parseCsrPem } from './csr-parse.ts';
import { checkIdentity, checkKey } from './csr-policy.ts';
import type { KeyCertBundle } from './key-cert-bundle.ts';
import { CaRefusal, RefusalReason } from './refusal.ts';

export interface AuthorityOptions {
  readonly bundle: KeyCertBundle;
  /** Leaf lifetime when the caller asks for none. */
  readonly defaultTtlMs: number;
  /** The longest lifetime a caller may ask for; longer is refused. */
  readonly maxTtlMs: number;
  readonly now?: () => number;
}

export interface IssuedCertificate {
  readonly certPem: string;
  /** Leaf first, then intermediates, root last. */
  readonly chainPem: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Backdating of notBefore for clocks a little behind the CA's: a minute, or a tenth of short lifetimes. */
function skewMs(ttlMs: number): number {
  return Math.min(60_000, Math.floor(ttlMs / 10));
}

function leafWriter(b: KeyCertBundle): WorkloadLeafWriter {
  return new WorkloadLeafWriter(b.issuer.subject, b.issuer.keyId, b.signingKey);
}

export class CertificateAuthority {
  private bundle: KeyCertBundle;
  /** Made once per bundle: the parts of a leaf that only the signing certificate decides. */
  private leaves: WorkloadLeafWriter;
  private readonly defaultTtlMs: number;
  private readonly maxTtlMs: number;
  private readonly now: () => number;

  constructor(opts: AuthorityOptions) {
    this.bundle = opts.bundle;
    this.leaves = leafWriter(opts.bundle);
    this.defaultTtlMs = opts.defaultTtlMs;
    this.maxTtlMs = opts.maxTtlMs;
    this.now = opts.now ?? Date.now;
  }

  get rootPem(): string {
    return this.bundle.rootPem;
  }

  get current(): KeyCertBundle {
    return this.bundle;
  }

  setBundle(bundle: KeyCertBundle): void {
    this.leaves = leafWriter(bundle);
    this.bundle = bundle;
  }

  /** The chain above a leaf: the signing certificate (unless it is the root), intermediates, root. */
  caChainPem(): string[] {
    const b = this.bundle;
    const signing = b.signingCert.raw.equals(b.root.raw) ? [] : [b.signingCertPem];
    return [...signing, ...b.intermediatesPem, b.rootPem];
  }

  /** Resolves a requested lifetime (0 or undefined = default) or refuses it. */
  ttlFor(requestedMs: number | undefined): number {
    if (requestedMs === undefined || requestedMs === 0) return this.defaultTtlMs;
    if (!Number.isFinite(requestedMs) || requestedMs < 0) {
      throw new CaRefusal(
        RefusalReason.BadTtl,
        `requested validity ${requestedMs / 1000}s is negative`,
      );
    }
    if (requestedMs > this.maxTtlMs) {
      throw new CaRefusal(
        RefusalReason.BadTtl,
        `requested validity ${requestedMs / 1000}s exceeds the maximum ${this.maxTtlMs / 1000}s`,
      );
    }
    return requestedMs;
  }

  /** Parses, checks and signs a CSR for an authenticated caller. */
  signCsr(csrPem: string, callerIdentity: string, requestedTtlMs?: number): IssuedCertificate {
    const ttlMs = this.ttlFor(requestedTtlMs);
    const csr = parseCsrPem(csrPem);
    checkKey(csr);
    const identity = checkIdentity(csr, callerIdentity);
    return this.issueWorkload(csr.spki, identity, ttlMs);
  }

  /** Issues a workload leaf for `identity` (a SPIFFE URI) to the key `spki`; no policy checks. */
  issueWorkload(spki: Buffer, identity: string, ttlMs: number): IssuedCertificate {
    const validity = this.validity(ttlMs);
    return this.issued(this.leaves.certificate({ ...validity, spki, identity }), validity);
  }

  /** The CA's own TLS serving certificate (server auth only). */
  issueServer(publicKey: KeyObject, sans: SubjectAltNames, ttlMs: number): IssuedCertificate {
    const b = this.bundle;
    const validity = this.validity(ttlMs);
    const der = buildCertificate(
      {
        subject: name([{ oid: Oid.commonName, value: 'istio-ca' }]),
        issuer: b.issuer.subject,
        spki: spkiDer(publicKey),
        ...validity,
        extensions: serverExtensions(b.issuer.keyId, sans),
      },
      b.signingKey,
    );
    return this.issued(der, validity);
  }

  private validity(ttlMs: number): { notBefore: Date; notAfter: Date } {
    const now = this.now();
    return {
      notBefore: new Date(now - skewMs(ttlMs)),
      // Never outlive the signing certificate.
      notAfter: new Date(Math.min(now + ttlMs, this.bundle.signingCert.validToDate.getTime())),
    };
  }

  private issued(der: Buffer, v: { notBefore: Date; notAfter: Date }): IssuedCertificate {
    const certPem = pemEncode('CERTIFICATE', der);
    return { certPem, chainPem: [certPem, ...this.caChainPem()], ...v };
  }
}

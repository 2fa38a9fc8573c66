/**
 * Certificates from a CSR to the CA: the key is made here and never leaves the pod (memory only),
 * the CSR names the workload's SPIFFE identity, and the request authenticates with the pod's
 * ServiceAccount token (re-read each time: projected tokens rotate). The certificate is renewed at
 * `graceRatio` of its lifetime (half by default) and each new one reaches Envoy through SDS.
 * Failures retry with capped exponential backoff and jitter; a refusal (bad CSR, not allowed)
 * retries too, slowly, since a new token or a fixed RBAC rule may cure it, and is logged as an error.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { createCsrPem } from '../../lib/pki/csr.ts';
import { generateKeys, type KeyAlgorithm } from '../../lib/pki/keys.ts';
import {
  workloadCertificate,
  type CertificateSource,
  type WorkloadCertificate,
} from './certificate-source.ts';

/** The CA as this source needs it; lib/ca's client in production, anything in tests. */
export interface CsrSigner {
  /** Resolves with the chain, leaf first (root last when the CA sends it). */
  /** Called once when the source closes (a client closes its channel). */
  close?(): void;
  sign(req: {
    readonly csrPem: string;
    readonly token: string | undefined;
    readonly ttlSeconds: number;
  }): Promise<string[]>;
}

export interface CsrSourceOptions {
  readonly signer: CsrSigner;
  /** `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`. */
  readonly identity: string;
  readonly tokenPath: string | undefined;
  /** The mesh root (PEM file); peers are verified against it. */
  readonly rootCertPath: string;
  readonly ttlMs: number;
  readonly graceRatio?: number;
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly logger: Logger;
}

export class CsrCertificateSource implements CertificateSource {
  private readonly o: CsrSourceOptions;
  private cert: WorkloadCertificate | undefined;
  private readonly listeners: ((c: WorkloadCertificate) => void)[] = [];
  private readonly abort = new AbortController();

  constructor(o: CsrSourceOptions) {
    this.o = o;
  }

  current(): WorkloadCertificate | undefined {
    return this.cert;
  }

  onChange(listener: (c: WorkloadCertificate) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<WorkloadCertificate> {
    const first = await this.issueWithRetry();
    this.cert = first;
    void this.renewLoop();
    return first;
  }

  /** When the current certificate should be replaced. */
  renewAt(c: WorkloadCertificate): number {
    const from = c.notBefore.getTime();
    return from + (c.notAfter.getTime() - from) * (this.o.graceRatio ?? 0.5);
  }

  private async renewLoop(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted && this.cert) {
      const wait = Math.max(0, this.renewAt(this.cert) - Date.now());
      this.o.logger.info(
        { renewInMs: Math.round(wait), notAfter: this.cert.notAfter.toISOString() },
        'certificate renewal scheduled',
      );
      try {
        await sleep(Math.min(wait, 2 ** 31 - 1), undefined, { signal });
        const next = await this.issueWithRetry();
        this.cert = next;
        for (const l of this.listeners) l(next);
      } catch {
        return; // closed
      }
    }
  }

  private async issueWithRetry(): Promise<WorkloadCertificate> {
    const { initialMs, maxMs } = this.o.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    for (let attempt = 1; ; attempt++) {
      if (this.abort.signal.aborted)
        throw new IstioLiteError(ErrorCode.External, 'CSR source closed');
      try {
        return await this.issueOnce();
      } catch (e) {
        const delay = Math.min(maxMs, initialMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        const code = (e as { code?: unknown } | null)?.code;
        const refused = code === 3 || code === 7 || code === 16;
        (refused
          ? this.o.logger.error.bind(this.o.logger)
          : this.o.logger.warn.bind(this.o.logger))(
          { attempt, delayMs: Math.round(delay), error: errorMessage(e) },
          refused
            ? 'the CA refused the certificate request; retrying'
            : 'certificate request failed; retrying',
        );
        await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }

  private async issueOnce(): Promise<WorkloadCertificate> {
    const keys = await generateKeys(this.o.keyAlgorithm ?? 'ecdsa-p256');
    const csrPem = createCsrPem({ ...keys, sans: { uris: [this.o.identity] } });
    const token =
      this.o.tokenPath === undefined
        ? undefined
        : (await readFile(this.o.tokenPath, 'utf8')).trim();
    const rootPem = await readFile(this.o.rootCertPath, 'utf8');
    const chain = await this.o.signer.sign({
      csrPem,
      token,
      ttlSeconds: Math.round(this.o.ttlMs / 1000),
    });
    const keyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // Envoy sends the leaf and intermediates; the root travels separately (ROOTCA).
    const normalize = (p: string) => p.replace(/\s+/g, '');
    const leafAndIntermediates =
      chain.length > 1 && normalize(chain[chain.length - 1] ?? '') === normalize(rootPem)
        ? chain.slice(0, -1)
        : chain;
    const cert = workloadCertificate(leafAndIntermediates.join(''), keyPem, rootPem);
    if (cert.identity !== this.o.identity) {
      throw new IstioLiteError(
        ErrorCode.External,
        `the CA issued ${cert.identity ?? 'no identity'}, not ${this.o.identity}`,
      );
    }
    this.o.logger.info(
      { identity: cert.identity, notAfter: cert.notAfter.toISOString() },
      'workload certificate issued by the CA',
    );
    return cert;
  }

  close(): void {
    this.abort.abort();
    this.o.signer.close?.();
  }
}

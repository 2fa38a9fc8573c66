/**
 * The node agent for VMs and machines outside Kubernetes (mesh expansion): generates its key
 * locally, sends a CSR for its identity to the CA over TLS, writes the files, and renews at the
 * grace ratio of the lifetime (half by default). The first request and any request after the
 * certificate expired authenticate with the token file (a bootstrap token, or a ServiceAccount
 * token); renewals authenticate with the current certificate (mutual TLS).
 *
 * Transient failures (CA down, deadline, internal error) retry with capped exponential backoff and
 * jitter. A refusal (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED) ends the run with an
 * IstioLiteError carrying the CA's message: retrying the same request cannot succeed.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { createCsrPem } from '../../lib/pki/csr.ts';
import { generateKeys, type KeyAlgorithm } from '../../lib/pki/keys.ts';
import { createCaClient, type CaClient } from '../../lib/ca/client.ts';
import { readCertFiles, writeCertFiles, type CurrentCert } from './cert-files.ts';

export type CsrApiChoice = 'modern' | 'legacy';

export interface NodeAgentOptions {
  /** host:port of the CA. */
  readonly caAddress: string;
  /** PEM root that the CA's serving certificate chains to. */
  readonly rootCertPem: string;
  readonly serverName?: string;
  readonly certDir: string;
  /** The SPIFFE identity to request. */
  readonly identity: string;
  /** File holding the bearer token for the first request (re-read each time). */
  readonly tokenFile?: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Requested lifetime, seconds; 0 = the CA's default. */
  readonly ttlSeconds: number;
  readonly graceRatio: number;
  readonly api: CsrApiChoice;
  readonly logger: Logger;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Per-request deadline (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Called after each certificate is written (tests, and a hook to reload Envoy). */
  readonly onIssued?: (leafNotAfter: Date) => void;
}

const refusals = new Set<number>([
  status.INVALID_ARGUMENT,
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
]);

function grpcStatus(e: unknown): number | undefined {
  const code = (e as Partial<ServiceError> | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function renewAt(leaf: CurrentCert['leaf'], ratio: number): number {
  const from = leaf.validFromDate.getTime();
  return from + (leaf.validToDate.getTime() - from) * ratio;
}

export class NodeAgent {
  private readonly o: NodeAgentOptions;

  constructor(options: NodeAgentOptions) {
    this.o = options;
  }

  /** One certificate now (unless the current one is still before its renewal point). */
  async ensure(signal?: AbortSignal): Promise<Date> {
    const current = await this.usableCert();
    if (current && Date.now() < renewAt(current.leaf, this.o.graceRatio))
      return current.leaf.validToDate;
    return this.issueWithRetry(current, signal);
  }

  /** Runs until `signal` aborts; rejects on a refusal. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.ensure(signal);
      const current = await this.usableCert();
      const wait = current ? renewAt(current.leaf, this.o.graceRatio) - Date.now() : 0;
      this.o.logger.info({ renewInMs: Math.round(wait) }, 'next renewal scheduled');
      try {
        await sleep(Math.min(Math.max(wait, 0), 2 ** 31 - 1), undefined, { signal });
      } catch {
        return;
      }
    }
  }

  /** The certificate in the folder if it is ours, not expired, and its key is there. */
  private async usableCert(): Promise<CurrentCert | undefined> {
    const c = await readCertFiles(this.o.certDir);
    if (!c) return undefined;
    if (c.leaf.subjectAltName !== `URI:${this.o.identity}`) return undefined;
    if (Date.now() >= c.leaf.validToDate.getTime()) return undefined;
    return c;
  }

  private async issueWithRetry(
    current: CurrentCert | undefined,
    signal?: AbortSignal,
  ): Promise<Date> {
    const { initialMs, maxMs } = this.o.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.issueOnce(current);
      } catch (e) {
        if (e instanceof IstioLiteError) throw e;
        const delay = Math.min(maxMs, initialMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        this.o.logger.warn(
          { attempt, delayMs: Math.round(delay), err: errorMessage(e) },
          'certificate request failed; retrying',
        );
        try {
          await sleep(delay, undefined, signal ? { signal } : {});
        } catch {
          throw new IstioLiteError(
            ErrorCode.External,
            `stopped while retrying: ${errorMessage(e)}`,
          );
        }
      }
      // A certificate that expired while we retried can no longer authenticate.
      if (current && Date.now() >= current.leaf.validToDate.getTime()) current = undefined;
    }
  }

  private async token(): Promise<string | undefined> {
    if (this.o.tokenFile === undefined) return undefined;
    try {
      return (await readFile(this.o.tokenFile, 'utf8')).trim();
    } catch (e) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `--token-file: cannot read ${this.o.tokenFile}: ${errorMessage(e)}`,
      );
    }
  }

  private client(current: CurrentCert | undefined): CaClient {
    return createCaClient({
      address: this.o.caAddress,
      rootCertPem: this.o.rootCertPem,
      ...(this.o.serverName === undefined ? {} : { serverName: this.o.serverName }),
      ...(current
        ? { clientCert: { keyPem: current.keyPem, chainPem: current.certChainPem } }
        : {}),
    });
  }

  private async issueOnce(current: CurrentCert | undefined): Promise<Date> {
    const keys = await generateKeys(this.o.keyAlgorithm);
    const csr = createCsrPem({ ...keys, sans: { uris: [this.o.identity] } });
    const token = current ? undefined : await this.token();
    if (!current && token === undefined) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        'no valid certificate to renew with and no --token-file to authenticate the first request',
      );
    }
    const client = this.client(current);
    let chain: string[];
    try {
      const req = {
        csr,
        ...(token === undefined ? {} : { token }),
        validitySeconds: this.o.ttlSeconds,
        deadlineMs: this.o.requestTimeoutMs ?? 10_000,
      };
      chain =
        this.o.api === 'legacy' ? await client.handleCsr(req) : await client.createCertificate(req);
    } catch (e) {
      const code = grpcStatus(e);
      if (code === status.UNAUTHENTICATED && current && this.o.tokenFile !== undefined) {
        // The certificate no longer authenticates (the root changed?): start over with the token.
        this.o.logger.warn(
          { err: errorMessage(e) },
          'renewal with the current certificate refused; using the token',
        );
        client.close();
        return await this.issueOnce(undefined);
      }
      if (code !== undefined && refusals.has(code)) {
        const details = (e as ServiceError).details;
        throw new IstioLiteError(
          ErrorCode.PermissionDenied,
          `the CA refused the certificate request for ${this.o.identity} (${status[code]}): ${details}`,
        );
      }
      throw e;
    } finally {
      client.close();
    }
    const root = chain.at(-1) ?? '';
    await writeCertFiles(this.o.certDir, {
      certChainPem: (chain.length > 1 ? chain.slice(0, -1) : chain).join(''),
      keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      rootPem: root,
    });
    const written = await readCertFiles(this.o.certDir);
    const notAfter = written?.leaf.validToDate ?? new Date();
    this.o.logger.info(
      {
        identity: this.o.identity,
        notAfter,
        dir: this.o.certDir,
        auth: current ? 'client_cert' : 'token',
      },
      'certificate written',
    );
    this.o.onIssued?.(notAfter);
    return notAfter;
  }
}

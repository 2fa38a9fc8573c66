/**
 * Certificates from the mounted `istio.<sa>` Secret: `cert-chain.pem`, `key.pem` and
 * `root-cert.pem` in one directory (`/etc/certs`). The volume is optional, so the files may not
 * exist yet when the pod starts (the CA has not written the Secret); `start` waits for them.
 * Afterwards the files are watched (Kubernetes swaps them through a `..data` symlink) and a new,
 * valid set replaces the old; a half-written or mismatched set is logged and ignored.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { watchFiles, type WatchedFiles } from '../../lib/watched-files.ts';
import {
  workloadCertificate,
  type CertificateSource,
  type WorkloadCertificate,
} from './certificate-source.ts';

export const CertFile = {
  Chain: 'cert-chain.pem',
  Key: 'key.pem',
  Root: 'root-cert.pem',
} as const;

export interface FileSourceOptions {
  readonly dir: string;
  readonly logger: Logger;
  /** How often to look for the files and for changes (default 2000 ms). */
  readonly intervalMs?: number;
}

export class FileCertificateSource implements CertificateSource {
  private readonly o: FileSourceOptions;
  private watched: WatchedFiles<WorkloadCertificate> | undefined;
  private readonly listeners: ((c: WorkloadCertificate) => void)[] = [];
  private readonly abort = new AbortController();

  constructor(o: FileSourceOptions) {
    this.o = o;
  }

  private paths(): string[] {
    return [CertFile.Chain, CertFile.Key, CertFile.Root].map((f) => join(this.o.dir, f));
  }

  async start(): Promise<WorkloadCertificate> {
    const interval = this.o.intervalMs ?? 2000;
    let logged = '';
    for (;;) {
      if (this.abort.signal.aborted) {
        throw new IstioLiteError(
          ErrorCode.External,
          'certificate source closed before a certificate was found',
        );
      }
      try {
        await Promise.all(this.paths().map((p) => access(p)));
        this.watched = await watchFiles({
          name: 'workload certificate',
          paths: this.paths(),
          load: ([chain = '', key = '', root = '']) => workloadCertificate(chain, key, root),
          logger: this.o.logger,
          intervalMs: interval,
        });
        break;
      } catch (e) {
        const why = errorMessage(e);
        if (why !== logged) {
          this.o.logger.warn(
            { dir: this.o.dir, error: why },
            'waiting for the workload certificate files',
          );
          logged = why;
        }
        await sleep(interval, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
    this.watched.onChange((c) => {
      for (const l of this.listeners) l(c);
    });
    const cert = this.watched.get();
    this.o.logger.info(
      { identity: cert.identity, notAfter: cert.notAfter.toISOString() },
      'workload certificate loaded from files',
    );
    return cert;
  }

  current(): WorkloadCertificate | undefined {
    return this.watched?.get();
  }

  onChange(listener: (c: WorkloadCertificate) => void): void {
    this.listeners.push(listener);
  }

  /** Re-reads the files now (tests; the watcher does this on its own). */
  async reload(): Promise<boolean> {
    return this.watched ? this.watched.reload() : false;
  }

  close(): void {
    this.abort.abort();
    this.watched?.close();
  }
}

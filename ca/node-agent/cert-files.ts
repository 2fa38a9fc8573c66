/**
 * The node agent's output folder: cert-chain.pem (leaf, then intermediates), key.pem and
 * root-cert.pem, the same names as the istio.<sa> Secret's keys so Envoy's config is the same on a
 * VM and in a pod. Each file is written to a temporary name and renamed into place, so a reader
 * never sees a half-written file; the key is written first and mode 0600.
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const CertFile = {
  Chain: 'cert-chain.pem',
  Key: 'key.pem',
  Root: 'root-cert.pem',
} as const;

export interface CertFilesContent {
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly rootPem: string;
}

async function writeAtomic(
  dir: string,
  name: string,
  content: string,
  mode: number,
): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, content, { mode });
    await rename(tmp, join(dir, name));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function writeCertFiles(dir: string, c: CertFilesContent): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeAtomic(dir, CertFile.Key, c.keyPem, 0o600);
  await writeAtomic(dir, CertFile.Chain, c.certChainPem, 0o644);
  await writeAtomic(dir, CertFile.Root, c.rootPem, 0o644);
}

export interface CurrentCert {
  readonly leaf: X509Certificate;
  readonly certChainPem: string;
  readonly keyPem: string;
}

/** The certificate already in `dir`, or undefined when missing or unreadable. */
export async function readCertFiles(dir: string): Promise<CurrentCert | undefined> {
  try {
    const certChainPem = await readFile(join(dir, CertFile.Chain), 'utf8');
    const keyPem = await readFile(join(dir, CertFile.Key), 'utf8');
    return { leaf: new X509Certificate(certChainPem), certChainPem, keyPem };
  } catch {
    return undefined;
  }
}

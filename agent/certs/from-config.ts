/**
 * The certificate source the agent's flags ask for: `--caAddress` set means a CSR to the CA over
 * TLS (verified against `--caRootCertPath`, authenticated with the token at `--caTokenPath`);
 * otherwise the files of the mounted `istio.<sa>` Secret in `--certsDir`.
 */
import { readFile } from 'node:fs/promises';
import { createCaClient } from '../../lib/ca/client.ts';
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { spiffeId } from '../../lib/pki/spiffe.ts';
import type { AgentConfig } from '../config.ts';
import type { CertificateSource } from './certificate-source.ts';
import { CsrCertificateSource } from './csr-source.ts';
import { FileCertificateSource } from './file-source.ts';

export async function certificateSourceFor(
  c: AgentConfig,
  logger: Logger,
): Promise<CertificateSource> {
  if (c.caAddress === undefined) return new FileCertificateSource({ dir: c.certsDir, logger });
  let rootCertPem: string;
  try {
    rootCertPem = await readFile(c.caRootCertPath, 'utf8');
  } catch (e) {
    throw new IstioLiteError(
      ErrorCode.InvalidConfig,
      `--caRootCertPath: cannot read the root that signed the CA's certificate (${errorMessage(e)})`,
    );
  }
  const client = createCaClient({ address: c.caAddress, rootCertPem });
  return new CsrCertificateSource({
    signer: {
      sign: (req) =>
        client.createCertificate({
          csr: req.csrPem,
          ...(req.token === undefined ? {} : { token: req.token }),
          validitySeconds: req.ttlSeconds,
          deadlineMs: 10_000,
        }),
      close: () => {
        client.close();
      },
    },
    identity: spiffeId({
      trustDomain: c.trustDomain,
      namespace: c.pod.namespace,
      serviceAccount: c.pod.serviceAccount,
    }),
    tokenPath: c.caTokenPath,
    rootCertPath: c.caRootCertPath,
    ttlMs: c.certTtlMs,
    logger,
  });
}

/**
 * The certificate source the agent's flags ask for: `--caAddress` set means a CSR to the CA over
 * TLS (verified against `--caRootCertPath`, authenticated with the token at `--caTokenPath`);
 * otherwise the files of the mounted `istio.<sa>` Secret in `--certsDir`.
 */
import { readFile } from 'node:fs/promises';
import { createCaClient, type CaClient } from '../../lib/ca/client.ts';
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { spiffeId } from '../../lib/pki/spiffe.ts';
import type { AgentConfig } from '../settings.ts';
import type { CertificateSource } from './certificate-source.ts';
import { CsrCertificateSource } from './csr-source.ts';
import { FileCertificateSource } from './file-source.ts';

export function certificateSourceFor(c: AgentConfig, logger: Logger): CertificateSource {
  if (c.caAddress === undefined) return new FileCertificateSource({ dir: c.certsDir, logger });
  const address = c.caAddress;
  // Made on the first request that finds the root: it comes from the mounted
  // istio.<sa> Secret, which the kubelet may fill in after the pod started (the CA writes it when
  // the ServiceAccount appears). Until then every attempt fails and is retried with backoff.
  let client: CaClient | undefined;
  const connect = async (): Promise<CaClient> => {
    if (client) return client;
    let rootCertPem: string;
    try {
      rootCertPem = await readFile(c.caRootCertPath, 'utf8');
    } catch (e) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `--caRootCertPath: cannot read the root that signed the CA's certificate (${errorMessage(e)})`,
      );
    }
    client = createCaClient({ address, rootCertPem });
    return client;
  };
  return new CsrCertificateSource({
    signer: {
      sign: async (req) =>
        (await connect()).createCertificate({
          csr: req.csrPem,
          ...(req.token === undefined ? {} : { token: req.token }),
          validitySeconds: req.ttlSeconds,
          deadlineMs: 10_000,
        }),
      close: () => {
        client?.close();
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

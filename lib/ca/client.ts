/**
 * A client of the CA's CSR service over TLS: the server is verified against the mesh root, and the
 * caller authenticates with a bearer token (ServiceAccount or bootstrap) or a client certificate
 * from this CA. Errors are grpc-js ServiceErrors carrying the CA's status and message.
 */
import { Metadata, credentials } from '@grpc/grpc-js';
import { unaryClient } from '../grpc/services.ts';
import { isObject } from '../json.ts';
import { splitCertificates } from '../pki/pem.ts';
import { caServices } from './protos.ts';

export interface CaClientOptions {
  /** host:port of the CA. */
  readonly address: string;
  /** PEM root that signed the CA's serving certificate. */
  readonly rootCertPem: string;
  /** Client certificate for mutual TLS (renewal). */
  readonly clientCert?: { readonly keyPem: string; readonly chainPem: string };
  /** Name to verify in the server certificate when it differs from the address host. */
  readonly serverName?: string;
}

export interface CsrCall {
  readonly csr: string;
  readonly token?: string;
  readonly validitySeconds?: number;
  readonly deadlineMs?: number;
}

export interface CaClient {
  /** Modern API; resolves with the chain, leaf first and root last. */
  createCertificate(req: CsrCall): Promise<string[]>;
  /** 0.2 API; resolves with the chain, leaf first. */
  handleCsr(req: CsrCall): Promise<string[]>;
  close(): void;
}

function metadataFor(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

export function createCaClient(opts: CaClientOptions): CaClient {
  const creds = credentials.createSsl(
    Buffer.from(opts.rootCertPem),
    opts.clientCert ? Buffer.from(opts.clientCert.keyPem) : null,
    opts.clientCert ? Buffer.from(opts.clientCert.chainPem) : null,
  );
  const channelOptions = opts.serverName
    ? { 'grpc.ssl_target_name_override': opts.serverName }
    : {};
  const { certificate, legacy } = caServices();
  const modern = unaryClient(certificate, opts.address, creds, channelOptions);
  const old = unaryClient(legacy, opts.address, creds, channelOptions);
  const callOpts = (req: CsrCall) => ({
    metadata: metadataFor(req.token),
    ...(req.deadlineMs === undefined ? {} : { deadlineMs: req.deadlineMs }),
  });
  return {
    async createCertificate(req) {
      const res = await modern.call(
        'CreateCertificate',
        { csr: req.csr, validity_duration: req.validitySeconds ?? 0 },
        callOpts(req),
      );
      const chain = isObject(res) ? res['cert_chain'] : undefined;
      if (
        !Array.isArray(chain) ||
        !chain.every((c) => typeof c === 'string') ||
        chain.length === 0
      ) {
        throw new Error('CA answered without a certificate chain');
      }
      return chain;
    },
    async handleCsr(req) {
      const res: unknown = await old.call(
        'HandleCSR',
        { csr_pem: Buffer.from(req.csr) },
        callOpts(req),
      );
      const r = isObject(res) ? (res as Record<string, unknown>) : {};
      const chain = r['signed_cert_chain'];
      if (r['is_approved'] !== true || !Buffer.isBuffer(chain))
        throw new Error('CA did not approve the CSR');
      return splitCertificates(chain.toString('utf8'));
    },
    close() {
      modern.close();
      old.close();
    },
  };
}

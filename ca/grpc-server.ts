/**
 * The CSR service on 8060 over TLS: CreateCertificate (modern) and HandleCSR (0.2). Transport
 * only: credentials come from the TLS peer certificate and `authorization` metadata, the
 * authenticator says who is calling, the authority decides and signs, and lib/grpc/status.ts maps
 * errors to statuses. Every call is counted and timed; refusals are logged with their reason.
 */
import { Server, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { ErrorCode, errorMessage, isIstioLiteError } from '../lib/errors.ts';
import {
  OptionalClientCertCredentials,
  type ServingTls,
} from '../lib/grpc/optional-client-cert.ts';
import type { Logger } from '../lib/log.ts';
import type { Authenticator, CallCredentials } from './authn.ts';
import type { CertificateAuthority, IssuedCertificate } from './authority.ts';
import { bindServer, grpcAddress, stopServer } from '../lib/grpc/server-lifecycle.ts';
import { toServiceError } from '../lib/grpc/status.ts';
import type { CaMetrics, CsrApi } from './metrics.ts';
import { caServices } from '../lib/ca/protos.ts';
import { parseCreateCertificateRequest, parseLegacyRequest } from './protos.ts';
import { isCaRefusal } from './refusal.ts';

export interface CaGrpcServerOptions {
  readonly authority: CertificateAuthority;
  readonly authenticate: Authenticator;
  readonly metrics: CaMetrics;
  readonly logger: Logger;
  readonly tls: ServingTls;
}

export interface CaGrpcServer {
  /** The bound port (0 until `listen` resolved). */
  readonly port: number;
  /** Binds host:port (port 0 picks one); resolves to the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /** New serving certificate or trusted roots, for new connections. */
  updateTls(tls: ServingTls): void;
  /** Stops accepting and lets in-flight calls finish (forced after `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

type Call = ServerUnaryCall<unknown, unknown>;

function credentialsOf(call: Call): CallCredentials {
  const raw = call.getAuthContext().sslPeerCertificate?.raw;
  const [auth] = call.metadata.get('authorization');
  return {
    ...(raw ? { peerCertDer: raw } : {}),
    ...(typeof auth === 'string' ? { authorization: auth } : {}),
  };
}

function failureReason(e: unknown): string {
  if (isCaRefusal(e)) return e.reason;
  if (isIstioLiteError(e) && e.code === ErrorCode.External) return 'unavailable';
  return 'internal';
}

/** Binds a new server; one that cannot bind is shut down before the error is thrown. */
export async function startCaGrpcServer(
  opts: CaGrpcServerOptions,
  port: number,
  host = '0.0.0.0',
): Promise<CaGrpcServer> {
  const server = createCaGrpcServer(opts);
  try {
    await server.listen(port, host);
  } catch (e) {
    await server.close(0);
    throw e;
  }
  return server;
}

/** The server with its services, not bound yet: register its `close` first, then `listen`. */
export function createCaGrpcServer(opts: CaGrpcServerOptions): CaGrpcServer {
  const { authority, authenticate, metrics, logger } = opts;
  const services = caServices();

  async function issue(
    api: CsrApi,
    call: Call,
    parse: () => { csr: string; ttlMs?: number },
  ): Promise<IssuedCertificate> {
    metrics.csr.inc({ api });
    const end = metrics.latency.startTimer({ api });
    const peer = call.getPeer();
    try {
      const caller = await authenticate(credentialsOf(call));
      const req = parse();
      const issued = authority.signCsr(req.csr, caller.identity, req.ttlMs);
      metrics.issued.inc({ api, auth: caller.method });
      logger.info(
        {
          api,
          peer,
          identity: caller.identity,
          auth: caller.method,
          detail: caller.detail,
          notAfter: issued.notAfter,
        },
        'certificate issued',
      );
      return issued;
    } catch (e) {
      const reason = failureReason(e);
      metrics.failures.inc({ api, reason });
      if (reason === 'internal') logger.error({ api, peer, err: e }, 'CSR failed');
      else logger.warn({ api, peer, reason, message: errorMessage(e) }, 'CSR refused');
      throw e;
    } finally {
      end();
    }
  }

  const server = new Server({
    'grpc.max_receive_message_length': 256 * 1024,
  });
  server.addService(services.certificate, {
    CreateCertificate(call: Call, callback: sendUnaryData<unknown>) {
      issue('CreateCertificate', call, () => {
        const r = parseCreateCertificateRequest(call.request);
        return { csr: r.csr, ttlMs: r.validitySeconds * 1000 };
      }).then(
        (issued) => {
          callback(null, { cert_chain: issued.chainPem });
        },
        (e: unknown) => {
          callback(toServiceError(e, 'internal error signing the certificate'));
        },
      );
    },
  });
  server.addService(services.legacy, {
    HandleCSR(call: Call, callback: sendUnaryData<unknown>) {
      issue('HandleCSR', call, () => parseLegacyRequest(call.request)).then(
        (issued) => {
          callback(null, {
            is_approved: true,
            signed_cert_chain: Buffer.from(issued.chainPem.join('')),
          });
        },
        (e: unknown) => {
          callback(toServiceError(e, 'internal error signing the certificate'));
        },
      );
    },
  });

  const creds = new OptionalClientCertCredentials(opts.tls);
  let bound = 0;
  return {
    get port() {
      return bound;
    },
    async listen(port, host = '0.0.0.0') {
      bound = await bindServer(server, grpcAddress(host, port), creds);
      logger.info({ port: bound, host }, 'CA gRPC server listening');
      return bound;
    },
    updateTls(tls) {
      creds.update(tls);
    },
    close(graceMs = 10_000) {
      return stopServer(server, graceMs);
    },
  };
}

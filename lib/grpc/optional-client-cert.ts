/**
 * TLS server credentials for gRPC that ask for a client certificate but do not require one
 * (Go's `VerifyClientCertIfGiven`): callers may authenticate by certificate or by a token. A
 * certificate that does not chain to `ca` does not fail the handshake; it is simply not
 * "authorized", and `call.getAuthContext()` then carries no peer certificate. The key, chain and
 * trusted roots can be replaced at run time; new connections use the new ones.
 */
import { ServerCredentials } from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';

export interface ServingTls {
  /** PEM private key. */
  readonly key: string;
  /** PEM certificate chain, leaf first. */
  readonly cert: string;
  /** PEM roots trusted for client certificates. */
  readonly ca: string;
}

function contextOptions(tls: ServingTls): SecureContextOptions {
  return { key: tls.key, cert: tls.cert, ca: tls.ca };
}

export class OptionalClientCertCredentials extends ServerCredentials {
  constructor(tls: ServingTls) {
    super({ requestCert: true, rejectUnauthorized: false }, contextOptions(tls));
  }

  /** Swaps the serving key, chain and trusted roots for new connections. */
  update(tls: ServingTls): void {
    this.updateSecureContextOptions(contextOptions(tls));
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

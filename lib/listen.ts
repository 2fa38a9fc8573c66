/**
 * Listening as every istio-lite HTTP(S) server does: resolves to the bound port (0 picks one), or
 * rejects with an error naming the address and the reason (address in use, permission) instead of
 * leaving it unhandled. gRPC servers get the same error from lib/grpc/server-lifecycle.ts.
 * `closeHttpServer` is the matching stop, safe on a server that never listened.
 */
import type { AddressInfo, Server } from 'node:net';
import { ErrorCode, IstioLiteError, errorMessage } from './errors.ts';

const reasons: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
};

/** `host:port`, an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${String(port)}`;
}

/** The error for a server that could not listen on `address`, naming it and why. */
export function listenError(address: string, err: unknown): IstioLiteError {
  const text = errorMessage(err);
  const code = Object.keys(reasons).find(
    (c) => (err as { code?: unknown } | null)?.code === c || text.includes(c),
  );
  const why = code === undefined ? text : (reasons[code] ?? text);
  return new IstioLiteError(ErrorCode.External, `cannot listen on ${address}: ${why}`, {
    cause: err,
  });
}

export function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: unknown) => {
      reject(listenError(hostPort(host, port), e));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** What `closeHttpServer` needs of an HTTP or HTTPS server. */
export interface ClosableHttpServer {
  close(callback: () => void): unknown;
  closeAllConnections(): void;
}

/**
 * Stops an HTTP(S) server: no new connections, open ones (idle keep-alives included) closed now.
 * Resolves also when the server never listened (a failed start stopping what it created).
 */
export function closeHttpServer(server: ClosableHttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}

/**
 * Binding and stopping a @grpc/grpc-js server, as every istio-lite server does it: bind resolves
 * to the bound port (0 picks one); stop lets calls finish for a grace period, then cuts the rest.
 */
import type { Server, ServerCredentials } from '@grpc/grpc-js';
import { hostPort, listenError } from '../listen.ts';

/** `host:port` for bindAsync, an IPv6 host in brackets. */
export function grpcAddress(host: string, port: number): string {
  return hostPort(host, port);
}

export function bindServer(
  server: Server,
  target: string,
  credentials: ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials, (err, port) => {
      if (err) reject(listenError(target, err));
      else resolve(port);
    });
  });
}

export function stopServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

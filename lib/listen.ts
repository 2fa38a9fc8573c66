/**
 * Listening as every istio-lite HTTP(S) server does: resolves to the bound port (0 picks one), or
 * rejects with the listen error (address in use, permission) instead of leaving it unhandled.
 */
import type { AddressInfo, Server } from 'node:net';

export function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

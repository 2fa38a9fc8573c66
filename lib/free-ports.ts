/**
 * TCP ports free on 127.0.0.1, for servers that are told their port (test clusters, benches, tests
 * of processes that listen where a flag says).
 */
import { createServer, type Server } from 'node:net';

/**
 * `n` distinct TCP ports free on 127.0.0.1 right now: all are held open together, then released.
 * Another process may still take one before it is used; callers retry on "address in use".
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      servers.push(srv);
      ports.push(await listenEphemeral(srv));
    }
    return ports;
  } finally {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((r) =>
            s.close(() => {
              r();
            }),
          ),
      ),
    );
  }
}

function listenEphemeral(srv: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    srv.on('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      if (typeof addr === 'object' && addr !== null) resolve(addr.port);
      else reject(new Error('no port from the OS'));
    });
  });
}

/** One free port (see freePorts). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no port from the OS');
  return port;
}

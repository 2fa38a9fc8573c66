/**
 * A TCP proxy on 127.0.0.1 in front of a port, for tests that cut a client off the API server:
 * `pause()` resets every open connection and stops listening (new connections are refused),
 * `resume()` listens again on the same port. TLS passes through untouched.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const onConnection = (client: Socket) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  };
  let server: Server = createServer(onConnection);
  const listen = (s: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen({ host: '127.0.0.1', port }, () => {
        const a = s.address();
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
  const closeServer = (s: Server) =>
    new Promise<void>((resolve) => {
      s.close(() => {
        resolve();
      });
    });
  const port = await listen(server, 0);
  let listening = true;

  const pause = async () => {
    if (!listening) return;
    listening = false;
    const closed = closeServer(server);
    for (const s of sockets) s.resetAndDestroy();
    await closed;
  };
  return {
    port,
    pause,
    async resume() {
      if (listening) return;
      server = createServer(onConnection);
      await listen(server, port);
      listening = true;
    },
    close: pause,
  };
}

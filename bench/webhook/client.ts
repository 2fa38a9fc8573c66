/**
 * bench/webhook's HTTP client: keep-alive HTTPS connections that each carry one request at a time
 * (as the API server calls a webhook), written as bytes prepared up front and answers read by their
 * Content-Length, so the load generator spends a few tens of µs per request, not node:https'
 * hundreds, and can drive far more requests than the servers it measures answer.
 */
import { connect, type TLSSocket } from 'node:tls';

export interface Connection {
  /** Sends one request; resolves with the answer's status when its whole body has arrived. */
  send(request: Buffer): Promise<number>;
  close(): void;
}

export function openConnection(port: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.setNoDelay(true);
    let buffered: Buffer = Buffer.alloc(0);
    let waiting: { resolve: (status: number) => void; reject: (e: Error) => void } | undefined;
    const fail = (e: Error) => {
      const w = waiting;
      waiting = undefined;
      w?.reject(e);
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.subarray(0, end).toString('latin1');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
      if (length === undefined) {
        fail(new Error(`an answer without Content-Length: ${head.split('\r\n')[0] ?? ''}`));
        return;
      }
      const total = end + 4 + Number(length);
      if (buffered.length < total) return;
      if (buffered.length > total) {
        fail(new Error('bytes after the answer: the server answered more than was asked'));
        return;
      }
      buffered = Buffer.alloc(0);
      const status = Number(head.slice(9, 12));
      const w = waiting;
      waiting = undefined;
      w?.resolve(status);
    });
    socket.on('error', (e: Error) => {
      fail(e);
      reject(e);
    });
    socket.on('close', () => {
      fail(new Error('connection closed'));
    });
    socket.once('secureConnect', () => {
      resolve({
        send(request) {
          return new Promise((res, rej) => {
            waiting = { resolve: res, reject: rej };
            socket.write(request);
          });
        },
        close() {
          socket.destroy();
        },
      });
    });
  });
}

/** A POST's bytes: headers and body in one buffer (one write, one TLS record). */
export function postBytes(path: string, body: string): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, */*\r\nContent-Length: ${String(bytes.length)}\r\n\r\n`,
    ),
    bytes,
  ]);
}

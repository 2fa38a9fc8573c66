/**
 * What a connection writes, gathered: frames queued during one turn of the event loop (the
 * answers to every request that arrived in one read, and those finished in the promises after
 * it) leave in one socket write at the turn's end. When the peer stops reading and more than
 * `highWater` bytes wait in the socket, reading stops until it drains, so a client that sends
 * without reading cannot make the server buffer without end.
 */
import type { Socket } from 'node:net';

export class Output {
  private readonly socket: Socket;
  private readonly highWater: number;
  private out: Buffer[] = [];
  private scheduled = false;

  constructor(socket: Socket, highWater = 4 << 20) {
    this.socket = socket;
    this.highWater = highWater;
  }

  write(buf: Buffer): void {
    this.out.push(buf);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.flush();
    });
  }

  /** Writes what is queued now (before ending the socket). */
  flush(): void {
    this.scheduled = false;
    const out = this.out;
    this.out = [];
    const socket = this.socket;
    if (out.length === 0 || socket.destroyed || socket.writableEnded) return;
    const data = out.length === 1 ? (out[0] ?? Buffer.alloc(0)) : Buffer.concat(out);
    if (!socket.write(data) && socket.writableLength > this.highWater) socket.pause();
  }
}

/**
 * What a connection writes, gathered: the frames a read produces at once (the answers to every
 * request in it that were ready) leave in one socket write as the read's callback returns, and
 * the frames queued after it in the same turn (answers from promises) in one more at the turn's
 * end. Frames are written straight into a staging buffer (a frame costs no buffer of its own);
 * at a write what was staged is copied into one new buffer for the socket, which may hold it
 * until the kernel takes it. The staging buffer is the process's, not a connection's (a Mixer
 * serving a thousand agents keeps one, not a thousand): the connection using it moves what it
 * staged out when another one starts to. When the peer stops reading and more than `highWater`
 * bytes wait in the socket, reading stops until it drains, so a client that sends without
 * reading cannot make the server buffer without end.
 */
import type { Socket } from 'node:net';
import { writeFrameHeader } from './frames.ts';

/** Where frames go: a frame of `n` bytes of `src` from `at` (no payload when `src` is absent). */
export interface FrameOut {
  frame(
    type: number,
    flags: number,
    streamId: number,
    src?: Uint8Array,
    at?: number,
    n?: number,
  ): void;
}

/** The staging buffer's size: a frame of the default SETTINGS_MAX_FRAME_SIZE and its header. */
const STAGING = 16_384 + 9;

/** The staging buffer, how much of it is used, and by which connection's output. */
const staging = {
  buf: undefined as Buffer | undefined,
  used: 0,
  owner: undefined as Output | undefined,
};

export class Output implements FrameOut {
  private readonly socket: Socket;
  private readonly highWater: number;
  /** Staged bytes already cut off this turn (the staging buffer filled), and frames too large for it. */
  private out: Buffer[] = [];
  private scheduled = false;
  /** In the connection's read: frames wait for `release`, not for a turn of their own. */
  private held = false;

  constructor(socket: Socket, highWater = 4 << 20) {
    this.socket = socket;
    this.highWater = highWater;
  }

  /** Bytes already encoded (a preface, a whole frame). */
  write(buf: Uint8Array): void {
    const into = this.room(buf.length);
    if (into === undefined) this.out.push(Buffer.from(buf));
    else {
      into.set(buf, staging.used);
      staging.used += buf.length;
    }
    this.schedule();
  }

  frame(type: number, flags: number, streamId: number, src?: Buffer, at = 0, n = 0): void {
    const into = this.room(9 + n);
    if (into === undefined) {
      const own = Buffer.allocUnsafe(9 + n);
      writeFrameHeader(own, 0, n, type, flags, streamId);
      src?.copy(own, 9, at, at + n);
      this.out.push(own);
    } else {
      writeFrameHeader(into, staging.used, n, type, flags, streamId);
      // copy(), not set(subarray()): no view object a frame.
      if (n > 0) src?.copy(into, staging.used + 9, at, at + n);
      staging.used += 9 + n;
    }
    this.schedule();
  }

  /**
   * Frames queued from now until `release` leave in one write at `release`: the answers a read
   * produced at once go before the read's callback returns, with no setImmediate for them (a
   * turn of its own, and one more look at the poller). Frames queued later (answers that come
   * from promises) are written at the turn's end as before.
   */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    if (this.scheduled) this.flush();
  }

  /** Writes what is queued now (before ending the socket). */
  flush(): void {
    this.scheduled = false;
    this.cut();
    if (staging.owner === this) staging.owner = undefined; // Nothing staged: not kept for it.
    const out = this.out;
    this.out = [];
    const socket = this.socket;
    if (out.length === 0 || socket.destroyed || socket.writableEnded) return;
    const data = out.length === 1 ? (out[0] ?? Buffer.alloc(0)) : Buffer.concat(out);
    if (!socket.write(data) && socket.writableLength > this.highWater) socket.pause();
  }

  /**
   * The staging buffer, this output's, with room for `n` more bytes; undefined when `n` never
   * fits.
   */
  private room(n: number): Buffer | undefined {
    if (staging.owner !== this) {
      staging.owner?.cut();
      staging.owner = this;
    }
    if (n > STAGING) {
      this.cut(); // Kept in order: what was staged goes before the large frame.
      return undefined;
    }
    if (staging.used + n > STAGING) this.cut();
    return (staging.buf ??= Buffer.allocUnsafeSlow(STAGING));
  }

  /** Moves what this output staged into its own buffer, in order; the staging buffer is empty. */
  private cut(): void {
    if (staging.owner !== this || staging.used === 0 || staging.buf === undefined) return;
    const part = Buffer.allocUnsafe(staging.used);
    staging.buf.copy(part, 0, 0, staging.used);
    this.out.push(part);
    staging.used = 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.held) return; // release() writes it
    setImmediate(this.flushLater);
  }

  /** The turn's-end flush, bound once (not a closure a turn); nothing if release() wrote it. */
  private readonly flushLater = (): void => {
    if (this.scheduled) this.flush();
  };
}

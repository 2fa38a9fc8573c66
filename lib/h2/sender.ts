/**
 * The sending half of a connection's flow control (RFC 9113 5.2, 6.9): a stream's response
 * leaves as HEADERS (+CONTINUATION) and DATA frames no larger than the peer's
 * SETTINGS_MAX_FRAME_SIZE, and no more DATA than both the connection's and the stream's window
 * allow; a stream that runs out of window waits, its rest queued, until a WINDOW_UPDATE (or a
 * larger SETTINGS_INITIAL_WINDOW_SIZE) lets it go on. Its trailers follow its last DATA.
 */
import {
  ConnectionError,
  ErrorCode,
  Flag,
  FrameType,
  MAX_WINDOW,
  MIN_FRAME_SIZE,
} from './frames.ts';
import type { FrameOut } from './output.ts';
import type { H2Stream } from './stream.ts';

export class Sender {
  /** The connection's send window. */
  window = 65_535;
  /** The peer's SETTINGS_MAX_FRAME_SIZE. */
  maxFrame = MIN_FRAME_SIZE;
  private readonly blocked = new Set<H2Stream>();
  private readonly out: FrameOut;
  /** Called when a stream's response is wholly sent. */
  private readonly sent: (stream: H2Stream) => void;

  constructor(out: FrameOut, sent: (stream: H2Stream) => void) {
    this.out = out;
    this.sent = sent;
  }

  headers(stream: H2Stream, block: Buffer, endStream: boolean): void {
    let at = 0;
    let type: number = FrameType.HEADERS;
    do {
      const n = Math.min(this.maxFrame, block.length - at);
      const last = at + n === block.length;
      const flags =
        (last ? Flag.END_HEADERS : 0) |
        (endStream && type === FrameType.HEADERS ? Flag.END_STREAM : 0);
      this.out.frame(type, flags, stream.id, block, at, n);
      at += n;
      type = FrameType.CONTINUATION;
    } while (at < block.length);
    if (endStream) this.sent(stream);
  }

  flush(stream: H2Stream): void {
    const { queue } = stream;
    while (queue.length > 0) {
      const head = queue[0] ?? Buffer.alloc(0);
      if (head.length === 0) {
        queue.shift();
        // An empty body still ends the stream when no trailers follow.
        if (queue.length === 0 && stream.localEnded && stream.trailers === undefined) {
          this.out.frame(FrameType.DATA, Flag.END_STREAM, stream.id);
        }
        continue;
      }
      const room = Math.min(this.window, stream.sendWindow, this.maxFrame);
      if (room <= 0) {
        this.blocked.add(stream);
        return;
      }
      const n = Math.min(room, head.length);
      const lastOfAll = n === head.length && queue.length === 1;
      const end = lastOfAll && stream.localEnded && stream.trailers === undefined;
      this.out.frame(FrameType.DATA, end ? Flag.END_STREAM : 0, stream.id, head, 0, n);
      this.window -= n;
      stream.sendWindow -= n;
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
    }
    this.blocked.delete(stream);
    if (stream.localEnded) {
      const trailers = stream.trailers;
      stream.trailers = undefined;
      if (trailers !== undefined) this.headers(stream, trailers, true);
      else this.sent(stream);
    }
  }

  /** The connection's window grew by `increment` (WINDOW_UPDATE on stream 0). */
  grow(increment: number): void {
    this.window += increment;
    if (this.window > MAX_WINDOW) {
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'the window over 2^31-1');
    }
    this.flushBlocked();
  }

  /** Sends what waits, after a window grew. */
  flushBlocked(): void {
    for (const s of [...this.blocked]) this.flush(s);
  }

  /** The stream is closed: nothing more of it is sent. */
  forget(stream: H2Stream): void {
    this.blocked.delete(stream);
  }
}

/**
 * HTTP/2 frames (RFC 9113 section 4 and 6): the 9-byte header (24-bit length, type, flags,
 * 31-bit stream id), the types and flags a server reads and writes, the error codes, and a reader
 * that cuts a byte stream into frames without copying when a frame lies inside one chunk.
 */

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const ErrorCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  SETTINGS_TIMEOUT: 4,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 1,
  ENABLE_PUSH: 2,
  MAX_CONCURRENT_STREAMS: 3,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
} as const;

/** What a client sends first, before its SETTINGS (RFC 9113 3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** The default and least SETTINGS_MAX_FRAME_SIZE, and the most a peer may announce. */
export const MIN_FRAME_SIZE = 16_384;
export const MAX_FRAME_SIZE = 16_777_215;
export const MAX_WINDOW = 2 ** 31 - 1;

/** A connection error: the connection ends with GOAWAY carrying `code`. */
export class ConnectionError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** Writes a frame header at `at` in `out`. */
export function writeFrameHeader(
  out: Buffer,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  // Byte by byte, not writeUInt32BE: its range check boxes 0xffffffff in code V8 has not fully
  // optimized (the agent's stays at Maglev, lib/jit.ts), an allocation a frame.
  out[at + 5] = (streamId >>> 24) & 0x7f;
  out[at + 6] = (streamId >>> 16) & 0xff;
  out[at + 7] = (streamId >>> 8) & 0xff;
  out[at + 8] = streamId & 0xff;
}

/** One whole frame in a new buffer. */
export function frame(type: number, flags: number, streamId: number, payload?: Buffer): Buffer {
  const length = payload?.length ?? 0;
  const out = Buffer.allocUnsafe(9 + length);
  writeFrameHeader(out, 0, length, type, flags, streamId);
  payload?.copy(out, 9);
  return out;
}

/** A frame as read: its payload is a view of the input and is only valid until the next read. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/**
 * Cuts chunks into frames, after the client preface when a server reads. A frame longer than
 * `maxFrameSize` (what we announced) is a FRAME_SIZE_ERROR as soon as its header arrives.
 */
export class FrameReader {
  private pending: Buffer | undefined;
  private preface: boolean;
  maxFrameSize = MIN_FRAME_SIZE;

  /** `preface`: the input starts with the client preface (a server's reader). */
  constructor(preface = false) {
    this.preface = preface;
  }

  /** Calls `onFrame` for every whole frame in what has arrived so far. */
  push(chunk: Buffer, onFrame: (f: Frame) => void): void {
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let at = 0;
    if (this.preface) {
      const n = Math.min(buf.length, PREFACE.length);
      if (!buf.subarray(0, n).equals(PREFACE.subarray(0, n))) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'not the HTTP/2 client preface');
      }
      if (buf.length < PREFACE.length) {
        this.pending = Buffer.from(buf);
        return;
      }
      this.preface = false;
      at = PREFACE.length;
    }
    while (buf.length - at >= 9) {
      const length = ((buf[at] ?? 0) << 16) | ((buf[at + 1] ?? 0) << 8) | (buf[at + 2] ?? 0);
      if (length > this.maxFrameSize) {
        throw new ConnectionError(
          ErrorCode.FRAME_SIZE_ERROR,
          `a frame of ${String(length)} bytes, over the ${String(this.maxFrameSize)} allowed`,
        );
      }
      if (buf.length - at < 9 + length) break;
      onFrame({
        type: buf[at + 3] ?? 0,
        flags: buf[at + 4] ?? 0,
        // Byte by byte: readUInt32BE's result is boxed when V8 has not fully optimized it.
        streamId:
          (((buf[at + 5] ?? 0) & 0x7f) << 24) |
          ((buf[at + 6] ?? 0) << 16) |
          ((buf[at + 7] ?? 0) << 8) |
          (buf[at + 8] ?? 0),
        payload: buf.subarray(at + 9, at + 9 + length),
      });
      at += 9 + length;
      // A handler may have ended the connection and dropped what is pending.
      if (this.stopped) return;
    }
    if (at < buf.length) {
      buf = buf.subarray(at);
      this.pending = Buffer.from(buf);
    }
  }

  private stopped = false;

  /** Reads nothing more (the connection is ending). */
  stop(): void {
    this.stopped = true;
    this.pending = undefined;
  }
}

/** The payload of a frame without its padding (PADDED flag: a length byte, then that much). */
export function unpadded(f: Frame, skip = 0): Buffer {
  if ((f.flags & Flag.PADDED) === 0) return skip === 0 ? f.payload : f.payload.subarray(skip);
  const pad = f.payload[0] ?? 0;
  if (1 + skip + pad > f.payload.length) {
    throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
  }
  return f.payload.subarray(1 + skip, f.payload.length - pad);
}

export const protocolError = (why: string) => new ConnectionError(ErrorCode.PROTOCOL_ERROR, why);
export const frameSizeError = (type: string) =>
  new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `${type} of the wrong length`);

export function windowUpdate(streamId: number, increment: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(increment, 0);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, p);
}

export function rstFrame(streamId: number, code: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, streamId, p);
}

export function goAwayFrame(lastStreamId: number, code: number, message: string): Buffer {
  const debug = Buffer.from(message.slice(0, 256));
  const p = Buffer.allocUnsafe(8 + debug.length);
  p.writeUInt32BE(lastStreamId, 0);
  p.writeUInt32BE(code, 4);
  debug.copy(p, 8);
  return frame(FrameType.GOAWAY, 0, 0, p);
}

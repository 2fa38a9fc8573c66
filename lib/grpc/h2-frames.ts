/**
 * gRPC's framing over HTTP/2, the parts a server and a client need (docs/reference/grpc-http2.md; primary
 * source: grpc/grpc doc/PROTOCOL-HTTP2.md and doc/compression.md): messages in DATA frames as a
 * 1-byte compressed flag, a 4-byte big-endian length and the bytes, with no relation between
 * message and frame boundaries; the `grpc-timeout` header; the percent-encoded `grpc-message`.
 */
import { gunzipSync, inflateSync } from 'node:zlib';

/**
 * A compressed message's bytes, at most `max` of them (zlib's ERR_BUFFER_TOO_LARGE past that,
 * so a small message cannot inflate without end); undefined for an encoding other than gzip or
 * deflate. Throws zlib's error for bytes that do not decompress.
 */
export function decompress(bytes: Buffer, encoding: string, max: number): Buffer | undefined {
  const opts = { maxOutputLength: max };
  if (encoding === 'gzip') return gunzipSync(bytes, opts);
  if (encoding === 'deflate') return inflateSync(bytes, opts);
  return undefined;
}

/** Whether decompress() stopped at its limit. */
export const tooLargeOutput = (e: unknown): boolean =>
  (e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';

/**
 * The prefix's message length (big-endian, bytes 1-4), byte by byte: Buffer's readUInt32BE and
 * writeUInt32BE box a number a call in code V8 has not fully optimized (the agent's stays at
 * Maglev, lib/jit.ts).
 */
function readLength(buf: Buffer): number {
  return (
    (((buf[1] ?? 0) << 24) | ((buf[2] ?? 0) << 16) | ((buf[3] ?? 0) << 8) | (buf[4] ?? 0)) >>> 0
  );
}

function writeLength(out: Buffer, n: number): void {
  out[1] = (n >>> 24) & 0xff;
  out[2] = (n >>> 16) & 0xff;
  out[3] = (n >>> 8) & 0xff;
  out[4] = n & 0xff;
}

/** The 5-byte prefix and `message` in one buffer, uncompressed. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = 0;
  writeLength(out, message.byteLength);
  out.set(message, 5);
  return out;
}

/**
 * A response already in gRPC's framing, for a handler that answers with the same few messages
 * over and over (the agent's ext_authz OK): the server sends its bytes as they are, with no
 * serializing, framing or buffer a call.
 */
export class FramedResponse {
  readonly framed: Buffer;
  constructor(message: Uint8Array) {
    this.framed = frameMessage(message);
  }
}

export interface FramedMessage {
  readonly compressed: boolean;
  readonly bytes: Buffer;
}

/** Why a reader refused its input: a message longer than allowed. */
export interface TooLarge {
  readonly length: number;
  readonly max: number;
}

/**
 * Reassembles messages from DATA chunks of any size. A length over `max` is refused as soon as
 * its prefix arrives, before any of its bytes are kept.
 */
export class MessageReader {
  private pending: Buffer | undefined;
  private readonly messages: FramedMessage[] = [];
  private readonly max: number;
  tooLarge: TooLarge | undefined;

  constructor(max: number) {
    this.max = max;
  }

  /** Adds a chunk; false once a message is too large (nothing more is read). */
  push(chunk: Buffer): boolean {
    if (this.tooLarge) return false;
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    while (buf.length >= 5) {
      const length = readLength(buf);
      if (length > this.max) {
        this.tooLarge = { length, max: this.max };
        return false;
      }
      if (buf.length < 5 + length) break;
      this.messages.push({ compressed: buf[0] !== 0, bytes: buf.subarray(5, 5 + length) });
      buf = buf.subarray(5 + length);
    }
    if (buf.length > 0) this.pending = buf;
    return true;
  }

  /** The complete messages read since the last call. */
  take(): FramedMessage[] {
    return this.messages.splice(0);
  }

  /** Bytes of a message that has not arrived whole (at the end of the stream: truncated). */
  get partial(): number {
    return this.pending?.length ?? 0;
  }
}

const timeoutUnits: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * `grpc-timeout` in milliseconds: at most 8 digits and a unit (H, M, S, m, u, n). Undefined when
 * absent; NaN when malformed.
 */
export function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m?.[1] === undefined || m[2] === undefined) return NaN;
  return Number(m[1]) * (timeoutUnits[m[2]] ?? NaN);
}

/**
 * `grpc-message`'s encoding: UTF-8, then every byte outside printable ASCII (0x20-0x7E) and `%`
 * written as `%XX`.
 */
export function encodeStatusMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of encodeStatusMessage; a broken `%` sequence is kept as it is. */
export function decodeStatusMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value.slice(i + 1, i + 3);
    if (value[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

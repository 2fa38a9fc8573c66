/**
 * Reading Mixer v1 requests field by field with protobufjs's Reader (the low-level reader lib/xds
 * and the agent's wire decoders use too): framing checks that refuse what is not a valid message,
 * as InvalidRequest errors naming the field, with the field's path built only when one is thrown.
 */
import protobuf from 'protobufjs';
import { IstioLiteError } from '../errors.ts';
import { bad } from './decompress.ts';

export type Reader = protobuf.Reader;

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;

const wireTypeNames = [
  'varint',
  '64-bit',
  'length-delimited',
  'group start',
  'group end',
  '32-bit',
];

/**
 * Where in the request the decoder is, for error messages (paths are built only when one is
 * thrown: this runs for every attribute of every request).
 */
export class Where {
  /** -1: a Check's `attributes`; -2: a field of the request itself; else a report entry. */
  entry: number;
  /** The CompressedAttributes field (`words`, `strings`, …); '' for the message itself. */
  field = '';
  /** The map key (the attribute's word index), once read. */
  key: number | undefined = undefined;

  constructor(entry: number) {
    this.entry = entry;
  }

  path(suffix = ''): string {
    let p =
      this.entry === -2
        ? this.field
        : this.entry < 0
          ? 'attributes'
          : `attributes[${String(this.entry)}]`;
    if (this.field !== '' && this.entry !== -2) p += `.${this.field}`;
    if (this.key !== undefined) p += `[${String(this.key)}]`;
    return p + suffix;
  }
}

export function expectWireType(got: number, want: number, where: Where, suffix = ''): void {
  if (got !== want) {
    throw bad(
      `${where.path(suffix)}: wire type ${wireTypeNames[got] ?? String(got)}, expected ${wireTypeNames[want] ?? String(want)}`,
    );
  }
}

/** The end of the length-delimited field at r.pos, inside a message ending at `end`. */
export function lengthEnd(r: Reader, end: number, where: Where, suffix = ''): number {
  const len = r.uint32();
  const stop = r.pos + len;
  if (stop > end) {
    throw bad(
      `${where.path(suffix)}: length ${String(len)} runs past the end of its message (${String(end - r.pos)} bytes left)`,
    );
  }
  return stop;
}

/** Skips a field, refusing one that ends past its message. */
export function skip(r: Reader, wireType: number, end: number, where: Where): void {
  if (wireType === LEN) {
    r.pos = lengthEnd(r, end, where);
    return;
  }
  r.skipType(wireType);
  if (r.pos > end) throw bad(`${where.path()}: a field runs past the end of its message`);
}

export function endsExactly(r: Reader, end: number, where: Where, suffix = ''): void {
  if (r.pos !== end) throw bad(`${where.path(suffix)}: a field runs past the end of its message`);
}

export function readString(r: Reader, end: number, where: Where): string {
  const at = r.pos;
  lengthEnd(r, end, where);
  r.pos = at;
  return r.string();
}

/**
 * An int64 as a JS number (exact up to 2^53), as @grpc/proto-loader's `longs: Number` gives.
 * protobufjs gives a Long; `Number(long)` would go through its decimal string (Long has no
 * valueOf), `toNumber` does not.
 */
export function int64(r: Reader): number {
  return toNumber(r.int64());
}

/** A uint64 as a JS number (exact up to 2^53). */
export function uint64(r: Reader): number {
  return toNumber(r.uint64());
}

function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}

/** Turns a protobufjs reader error (truncated input, invalid wire type) into InvalidRequest. */
export function malformed(e: unknown, what: string): IstioLiteError {
  if (e instanceof IstioLiteError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return bad(`${what}: not a valid protobuf message (${why})`);
}

/** A Buffer over the same bytes (protobufjs reads strings from Buffers fastest). */
export function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** A reader over the bytes. */
export function readerOf(bytes: Uint8Array): Reader {
  return protobuf.Reader.create(bufferOf(bytes));
}

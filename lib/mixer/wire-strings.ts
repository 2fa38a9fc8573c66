/**
 * Protobuf strings read through a small table of the strings read before: the same bytes give
 * the same string object, with no decoding and no new string. Envoy's checks repeat almost every
 * string they carry (header names and most values, peer labels, the route's context extensions),
 * and decoding each one was a call into Node's UTF-8 decoder and a new string to collect, the
 * largest single cost of turning a CheckRequest into attributes. A string seen again also keeps
 * its hash, so the attribute maps and the vocabulary find it faster.
 *
 * Direct-mapped: a string's slot comes from a hash of its bytes, a later string with the same
 * slot replaces it, and a hit is checked byte by byte, so a collision only costs a decode. Only
 * short ASCII strings are kept (what Envoy's headers and labels are; a longer one is rarely
 * repeated and costs more to compare).
 */
import type protobuf from 'protobufjs';

const SLOTS = 4096;
const MAX_KEPT = 64;

export class WireStrings {
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(
    undefined,
  );

  /** The length-delimited string at the reader's position (the reader moves past it). */
  read(r: protobuf.Reader): string {
    const len = r.uint32();
    const buf = r.buf;
    const start = r.pos;
    const end = start + len;
    if (end > r.len) throw new RangeError(`index out of range: ${String(end)} > ${String(r.len)}`);
    r.pos = end;
    if (len > MAX_KEPT) return decode(buf, start, end);
    let h = len;
    for (let i = start; i < end; i++) h = (Math.imul(h, 31) + (buf[i] ?? 0)) | 0;
    const slot = (h ^ (h >>> 12)) & (SLOTS - 1);
    const kept = this.slots[slot];
    if (kept?.length === len && same(kept, buf, start)) return kept;
    const s = decode(buf, start, end);
    // ASCII only: then a string's length is its byte count and its codes are its bytes.
    if (s.length === len && isAscii(s)) this.slots[slot] = s;
    return s;
  }
}

function same(s: string, buf: Uint8Array, start: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function decode(buf: Uint8Array, start: number, end: number): string {
  return Buffer.isBuffer(buf)
    ? buf.toString('utf8', start, end)
    : Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
}

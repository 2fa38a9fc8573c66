/**
 * Protobuf strings read through a small table of the strings read before: the same bytes give
 * the same string object, with no decoding and no new string. Envoy's checks repeat almost every
 * string they carry (header names and most values, peer labels, the route's context extensions),
 * and decoding each one was a call into Node's UTF-8 decoder and a new string to collect, the
 * largest single cost of turning a CheckRequest into attributes. A string seen again also keeps
 * its hash, so the attribute maps and the vocabulary find it faster.
 *
 * Two-way set-associative: a string's set comes from its length and five of its bytes (first,
 * last, and at a quarter, half and three quarters), the newer of a set's two strings first; a hit
 * is checked byte by byte, so a collision only costs a decode. Hashing every byte cost as much as
 * the comparison. Only short ASCII strings are kept (what Envoy's headers and labels are; a
 * longer one is rarely repeated and costs more to compare).
 *
 * A string is kept the second time its bytes are seen, not the first: a doorkeeper remembers a
 * hash of every byte of the strings read once. Strings that never repeat (Envoy's `x-request-id`,
 * a trace id) otherwise went into the table at every check, pushed out strings that do repeat,
 * and stayed until two more landed in their set: at tens of thousands of checks a second, long
 * enough to outlive two scavenges and be promoted to the old generation, which only a
 * mark-compact frees. Now they die young.
 */
import type protobuf from 'protobufjs';
import { bufferOf } from './wire-reader.ts';

const SETS = 4096;
const MAX_KEPT = 64;
/** Doorkeeper slots: hashes of strings seen once (a power of two). */
const DOOR = 16_384;

export class WireStrings {
  /** Set i holds slots 2i (newer) and 2i + 1. */
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(2 * SETS).fill(
    undefined,
  );
  /** The hash (| 1, never 0) of a string read once and not kept, by its doorkeeper slot. */
  private readonly door = new Int32Array(DOOR);

  /** The length-delimited string at the reader's position (the reader moves past it). */
  read(r: protobuf.Reader): string {
    const len = r.uint32();
    const buf = r.buf;
    const start = r.pos;
    const end = start + len;
    if (end > r.len) throw new RangeError(`index out of range: ${String(end)} > ${String(r.len)}`);
    r.pos = end;
    if (len === 0) return '';
    if (len > MAX_KEPT) return decode(buf, start, end);
    const q = len >> 2;
    const h =
      Math.imul(len, 0x9e3779b1) ^
      ((buf[start] ?? 0) << 3) ^
      ((buf[end - 1] ?? 0) << 11) ^
      ((buf[start + q] ?? 0) << 7) ^
      ((buf[start + (len >> 1)] ?? 0) << 15) ^
      ((buf[end - 1 - q] ?? 0) << 19);
    const slot = ((h ^ (h >>> 13)) & (SETS - 1)) << 1;
    const first = this.slots[slot];
    if (first?.length === len && same(first, buf, start)) return first;
    const second = this.slots[slot + 1];
    if (second?.length === len && same(second, buf, start)) return second;
    const str = decode(buf, start, end);
    // ASCII only: then a string's length is its byte count and its codes are its bytes.
    if (str.length === len && isAscii(str)) {
      // Every byte, here only (a miss has just decoded them): the table's five-byte hash would
      // let unique ids that differ elsewhere pass for one another.
      const seen = fnv1a(buf, start, end) | 1;
      const door = (seen >>> 1) & (DOOR - 1);
      if (this.door[door] !== seen) {
        this.door[door] = seen; // The first time: remembered, not kept.
        return str;
      }
      this.door[door] = 0;
      this.slots[slot + 1] = first;
      this.slots[slot] = str;
    }
    return str;
  }

  /** Whether `s` is in the table (tests). */
  keeps(s: string): boolean {
    return this.slots.includes(s);
  }
}

/** FNV-1a over `buf[start, end)`. */
function fnv1a(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] ?? 0), 0x01000193);
  return h;
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
  return bufferOf(buf).toString('utf8', start, end);
}

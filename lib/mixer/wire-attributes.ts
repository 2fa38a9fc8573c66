/**
 * One CompressedAttributes, read from its bytes: each map entry into a scratch record, its words
 * looked up in the global and message dictionaries, checked against the vocabulary's types
 * (the same checks and messages as decompress.ts), appended as a name and a value.
 */
import { bad, wireMap, wordError } from './decompress.ts';
import { globalDictionary } from './global-dictionary.ts';
import { Duration, IpAddress, ValueType, type Value } from './value.ts';
import { attributeType } from './vocabulary.ts';
import {
  endsExactly,
  expectWireType,
  FIXED64,
  int64,
  LEN,
  lengthEnd,
  readString,
  skip,
  VARINT,
  type Reader,
  type Where,
} from './wire-reader.ts';

/** CompressedAttributes fields 2..9, by field number (field 1 is `words`). */
const mapNames = [
  '',
  'words',
  'strings',
  'int64s',
  'doubles',
  'bools',
  'timestamps',
  'durations',
  'bytes',
  'string_maps',
] as const;
/** The wire type of each map's values. */
const valueWireType = [-1, -1, VARINT, VARINT, FIXED64, VARINT, LEN, LEN, LEN, LEN] as const;
const empty = new Uint8Array(0);

/** One map entry as read, before its words are looked up (reused: no allocation per entry). */
const scratch = {
  key: 0,
  /** strings: the word index; int64s, doubles: the number; bools: 0/1; times: seconds. */
  num: 0,
  nanos: 0,
  bytes: empty as Uint8Array,
  /** string_maps: key and value word indices, alternating. */
  pairs: [] as number[],
};

/** A google.protobuf.Timestamp or Duration into scratch.num (seconds) and scratch.nanos. */
function readTime(r: Reader, end: number, where: Where): void {
  const stop = lengthEnd(r, end, where, '.value');
  while (r.pos < stop) {
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f === 1) {
      expectWireType(tag & 7, VARINT, where, '.value.seconds');
      scratch.num = int64(r);
    } else if (f === 2) {
      expectWireType(tag & 7, VARINT, where, '.value.nanos');
      scratch.nanos = r.int32();
    } else skip(r, tag & 7, stop, where);
  }
  endsExactly(r, stop, where, '.value');
}

/** A StringMap's entries into scratch.pairs. */
function readStringMap(r: Reader, end: number, where: Where): void {
  const stop = lengthEnd(r, end, where, '.value');
  const pairs = scratch.pairs;
  while (r.pos < stop) {
    const tag = r.uint32();
    if (tag >>> 3 !== 1) {
      skip(r, tag & 7, stop, where);
      continue;
    }
    expectWireType(tag & 7, LEN, where, '.value.entries');
    const entryEnd = lengthEnd(r, stop, where, '.value.entries');
    let k = 0;
    let v = 0;
    while (r.pos < entryEnd) {
      const t = r.uint32();
      const f = t >>> 3;
      if (f === 1) {
        expectWireType(t & 7, VARINT, where, '.value.entries.key');
        k = r.sint32();
      } else if (f === 2) {
        expectWireType(t & 7, VARINT, where, '.value.entries.value');
        v = r.sint32();
      } else skip(r, t & 7, entryEnd, where);
    }
    endsExactly(r, entryEnd, where, '.value.entries');
    pairs.push(k, v);
  }
  endsExactly(r, stop, where, '.value');
}

/** One map entry of CompressedAttributes field `f` (2..9), ending at `end`, into scratch. */
function readEntry(r: Reader, f: number, end: number, where: Where): void {
  scratch.key = 0;
  scratch.num = 0;
  scratch.nanos = 0;
  scratch.bytes = empty;
  scratch.pairs.length = 0;
  const want = valueWireType[f] ?? LEN;
  while (r.pos < end) {
    const tag = r.uint32();
    const n = tag >>> 3;
    if (n === 1) {
      expectWireType(tag & 7, VARINT, where, '.key');
      scratch.key = r.sint32();
    } else if (n === 2) {
      expectWireType(tag & 7, want, where, '.value');
      if (f === 2) scratch.num = r.sint32();
      else if (f === 3) scratch.num = int64(r);
      else if (f === 4) scratch.num = r.double();
      else if (f === 5) scratch.num = r.bool() ? 1 : 0;
      else if (f === 6 || f === 7) readTime(r, end, where);
      else if (f === 8) {
        const stop = lengthEnd(r, end, where, '.value');
        scratch.bytes = r.buf.subarray(r.pos, stop);
        r.pos = stop;
      } else readStringMap(r, end, where);
    } else skip(r, tag & 7, end, where);
  }
  endsExactly(r, end, where);
}

/** The words a CompressedAttributes refers to: the global ones usable and the message's. */
export interface Dictionaries {
  readonly global: number;
  message: readonly string[];
}

/** A word by index (`mapKey`: the string map entry it was read for, for the error message). */
function lookup(index: number, d: Dictionaries, where: Where, mapKey?: number): string {
  const w =
    index >= 0 ? (index < d.global ? globalDictionary[index] : undefined) : d.message[-index - 1];
  if (w === undefined) {
    const suffix = mapKey === undefined ? '' : `.entries[${String(mapKey)}]`;
    throw wordError(index, d.global, d.message.length, where.path(suffix));
  }
  return w;
}

/** The value of the entry in scratch, for attribute `name` sent in field `f`. */
function entryValue(f: number, name: string, d: Dictionaries, where: Where): Value {
  switch (f) {
    case 2:
      return lookup(scratch.num, d, where);
    case 3:
    case 4:
      return scratch.num;
    case 5:
      return scratch.num === 1;
    case 6:
      return new Date(scratch.num * 1000 + Math.floor(scratch.nanos / 1e6));
    case 7:
      return Duration.fromProto(scratch.num, scratch.nanos);
    case 8: {
      if (attributeType(name) !== ValueType.IP_ADDRESS) return Uint8Array.from(scratch.bytes);
      const ip = IpAddress.fromBytes(scratch.bytes);
      if (ip === undefined)
        throw bad(`${where.path()}: ${name} must be 4 or 16 bytes (an IP address)`);
      return ip;
    }
    default: {
      const map = new Map<string, string>();
      const p = scratch.pairs;
      for (let i = 0; i < p.length; i += 2) {
        const k = p[i] ?? 0;
        map.set(lookup(k, d, where, k), lookup(p[i + 1] ?? 0, d, where, k));
      }
      return map;
    }
  }
}

/**
 * One CompressedAttributes (bytes [start, end) of r), its names and values appended to `out`.
 * Its own `words`, when it has any, replace `defaults` as its message dictionary.
 */
export function decodeAttributes(
  r: Reader,
  start: number,
  end: number,
  d: Dictionaries,
  where: Where,
  out: { names: string[]; values: Value[] },
): void {
  // `words` may come anywhere in the message: read them before looking up any index.
  let own: string[] | undefined;
  where.field = '';
  where.key = undefined;
  r.pos = start;
  while (r.pos < end) {
    const tag = r.uint32();
    const f = tag >>> 3;
    where.field = f <= 9 ? (mapNames[f] ?? '') : '';
    if (f === 1) {
      expectWireType(tag & 7, LEN, where);
      (own ??= []).push(readString(r, end, where));
    } else skip(r, tag & 7, end, where);
  }
  if (own !== undefined) d.message = own;
  r.pos = start;
  while (r.pos < end) {
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f < 2 || f > 9) {
      r.skipType(tag & 7);
      continue;
    }
    const map = mapNames[f] ?? '';
    where.field = map;
    where.key = undefined;
    expectWireType(tag & 7, LEN, where);
    const entryEnd = lengthEnd(r, end, where);
    readEntry(r, f, entryEnd, where);
    where.key = scratch.key;
    const name = lookup(scratch.key, d, where);
    const type = attributeType(name);
    if (type !== undefined && wireMap[type] !== map) {
      throw bad(`${where.path()}: ${name} is a ${type}, sent in ${wireMap[type]}, not ${map}`);
    }
    out.names.push(name);
    out.values.push(entryValue(f, name, d, where));
  }
}

/**
 * Mixer v1 requests straight from protobuf bytes to attribute sets, without protobufjs's object
 * form (a plain object per message and map, string keys, then a second walk to resolve words):
 * Mixer's hot path. Read with protobufjs's Reader, the same low-level reader lib/xds and the
 * agent's wire decoders use. Same results and the same errors, naming the field, as
 * decompress.ts on the decoded objects; bytes that are not a valid message (truncated, a length
 * running past its message, a known field with the wrong wire type) are InvalidRequest errors
 * too. Unknown fields are skipped.
 *
 * A report's sets are decoded and checked whole before any is handed out, then replayed as deltas
 * into one Map (see AttributeSets): no copy of the set per entry.
 */
import protobuf from 'protobufjs';
import { IstioLiteError } from '../errors.ts';
import {
  bad,
  usableGlobalWords,
  wireMap,
  wordError,
  type AttributeSet,
  type AttributeSets,
} from './decompress.ts';
import { globalDictionary } from './global-dictionary.ts';
import { Duration, IpAddress, ValueType, type Value } from './value.ts';
import { attributeType } from './vocabulary.ts';

type Reader = protobuf.Reader;

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;

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
class Where {
  /** -1: a Check's `attributes`; -2: a field of the request itself; else a report entry. */
  entry = -1;
  /** The CompressedAttributes field (`words`, `strings`, …); '' for the message itself. */
  field = '';
  /** The map key (the attribute's word index), once read. */
  key: number | undefined = undefined;

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

function expectWireType(got: number, want: number, where: Where, suffix = ''): void {
  if (got !== want) {
    throw bad(
      `${where.path(suffix)}: wire type ${wireTypeNames[got] ?? String(got)}, expected ${wireTypeNames[want] ?? String(want)}`,
    );
  }
}

/** The end of the length-delimited field at r.pos, inside a message ending at `end`. */
function lengthEnd(r: Reader, end: number, where: Where, suffix = ''): number {
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
function skip(r: Reader, wireType: number, end: number, where: Where): void {
  if (wireType === LEN) {
    r.pos = lengthEnd(r, end, where);
    return;
  }
  r.skipType(wireType);
  if (r.pos > end) throw bad(`${where.path()}: a field runs past the end of its message`);
}

function endsExactly(r: Reader, end: number, where: Where, suffix = ''): void {
  if (r.pos !== end) throw bad(`${where.path(suffix)}: a field runs past the end of its message`);
}

function readString(r: Reader, end: number, where: Where): string {
  const at = r.pos;
  lengthEnd(r, end, where);
  r.pos = at;
  return r.string();
}

/** An int64 as a JS number (exact up to 2^53), as @grpc/proto-loader's `longs: Number` gives. */
function int64(r: Reader): number {
  const v: unknown = r.int64();
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}

/** Turns a protobufjs reader error (truncated input, invalid wire type) into InvalidRequest. */
function malformed(e: unknown, what: string): IstioLiteError {
  if (e instanceof IstioLiteError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return bad(`${what}: not a valid protobuf message (${why})`);
}

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
interface Dictionaries {
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
function decodeAttributes(
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

/** A report's sets as deltas: entry i sets names/values [ends[i-1], ends[i]). */
class DeltaSets implements AttributeSets {
  private readonly names: readonly string[];
  private readonly values: readonly Value[];
  private readonly ends: readonly number[];

  constructor(names: readonly string[], values: readonly Value[], ends: readonly number[]) {
    this.names = names;
    this.values = values;
    this.ends = ends;
  }

  get length(): number {
    return this.ends.length;
  }

  *[Symbol.iterator](): Iterator<ReadonlyMap<string, Value>> {
    const bag: AttributeSet = new Map();
    let j = 0;
    for (const end of this.ends) {
      for (; j < end; j++) bag.set(this.names[j] as string, this.values[j] as Value);
      yield bag;
    }
  }
}

const topFields = ['ReportRequest', 'attributes', 'default_words', 'global_word_count'];

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** A ReportRequest's attribute sets, deltas applied (InvalidRequest naming the field if bad). */
export function decodeReportRequest(bytes: Uint8Array): AttributeSets {
  const r = protobuf.Reader.create(bufferOf(bytes));
  const entries: number[] = [];
  const defaults: string[] = [];
  let count = 0;
  const top = new Where();
  top.entry = -2;
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const f = tag >>> 3;
      top.field = topFields[f] ?? 'ReportRequest';
      top.key = f === 1 ? entries.length / 2 : undefined;
      if (f === 1) {
        expectWireType(tag & 7, LEN, top);
        const stop = lengthEnd(r, r.len, top);
        entries.push(r.pos, stop);
        r.pos = stop;
      } else if (f === 2) {
        expectWireType(tag & 7, LEN, top);
        defaults.push(readString(r, r.len, top));
      } else if (f === 3) {
        expectWireType(tag & 7, VARINT, top);
        count = r.uint32();
      } else skip(r, tag & 7, r.len, top);
    }
  } catch (e) {
    throw malformed(e, 'ReportRequest');
  }
  const d: Dictionaries = { global: usableGlobalWords(count), message: defaults };
  const out = { names: [] as string[], values: [] as Value[] };
  const ends: number[] = [];
  const where = new Where();
  try {
    for (let i = 0; i < entries.length; i += 2) {
      where.entry = i / 2;
      d.message = defaults;
      decodeAttributes(r, entries[i] ?? 0, entries[i + 1] ?? 0, d, where, out);
      ends.push(out.names.length);
    }
  } catch (e) {
    throw malformed(e, where.path());
  }
  return new DeltaSets(out.names, out.values, ends);
}

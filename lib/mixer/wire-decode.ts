/**
 * Mixer v1 requests (ReportRequest, CheckRequest) straight from protobuf bytes to attribute sets,
 * without protobufjs's object form (a plain object per message and map, string keys, then a
 * second walk to resolve words): Mixer's hot path. Framing is checked in wire-reader.ts,
 * attributes read in wire-attributes.ts. Same results and the same errors, naming the field, as
 * protobufjs + decompress.ts; bytes that are not a valid message (truncated, a length running
 * past its message, a known field with the wrong wire type) are InvalidRequest errors too.
 * Unknown fields are skipped.
 *
 * A report's sets are decoded and checked whole before any is handed out, then replayed as deltas
 * into one Map (see AttributeSets): no copy of the set per entry.
 */
import { bad, usableGlobalWords, type AttributeSet, type AttributeSets } from './decompress.ts';
import type { Value } from './value.ts';
import { decodeAttributes, type Dictionaries } from './wire-attributes.ts';
import {
  endsExactly,
  expectWireType,
  int64,
  LEN,
  lengthEnd,
  malformed,
  readerOf,
  readString,
  skip,
  VARINT,
  Where,
  type Reader,
} from './wire-reader.ts';

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

/** A ReportRequest's attribute sets, deltas applied (InvalidRequest naming the field if bad). */
export function decodeReportRequest(bytes: Uint8Array): AttributeSets {
  const r = readerOf(bytes);
  const entries: number[] = [];
  const defaults: string[] = [];
  let count = 0;
  const top = new Where(-2);
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
  const where = new Where(0);
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

/** A CheckRequest, decoded and checked. */
export interface DecodedCheck {
  readonly attributes: AttributeSet;
  readonly deduplicationId: string;
  /** By quota name; amounts are positive integers. */
  readonly quotas: Map<string, { amount: number; bestEffort: boolean }>;
}

const checkFields = [
  'CheckRequest',
  'attributes',
  'global_word_count',
  'deduplication_id',
  'quotas',
];

/** One `quotas` map entry (name → QuotaParams {amount, best_effort}) into `quotas`. */
function readQuota(r: Reader, end: number, top: Where, quotas: DecodedCheck['quotas']): void {
  const stop = lengthEnd(r, end, top);
  let name = '';
  let amount = 0;
  let bestEffort = false;
  while (r.pos < stop) {
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f === 1) {
      expectWireType(tag & 7, LEN, top, '.key');
      name = readString(r, stop, top);
    } else if (f === 2) {
      expectWireType(tag & 7, LEN, top, '.value');
      const paramsEnd = lengthEnd(r, stop, top, '.value');
      amount = 0;
      bestEffort = false;
      while (r.pos < paramsEnd) {
        const t = r.uint32();
        if (t >>> 3 === 1) {
          expectWireType(t & 7, VARINT, top, '.value.amount');
          amount = int64(r);
        } else if (t >>> 3 === 2) {
          expectWireType(t & 7, VARINT, top, '.value.best_effort');
          bestEffort = r.bool();
        } else skip(r, t & 7, paramsEnd, top);
      }
      endsExactly(r, paramsEnd, top, '.value');
    } else skip(r, tag & 7, stop, top);
  }
  endsExactly(r, stop, top);
  quotas.set(name, { amount, bestEffort });
}

/** A CheckRequest's attributes, quota asks and deduplication id (InvalidRequest if bad). */
export function decodeCheckRequest(bytes: Uint8Array): DecodedCheck {
  const r = readerOf(bytes);
  let start = 0;
  let end = 0;
  let count = 0;
  let deduplicationId = '';
  const quotas: DecodedCheck['quotas'] = new Map();
  const top = new Where(-2);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const f = tag >>> 3;
      top.field = checkFields[f] ?? 'CheckRequest';
      if (f === 1) {
        expectWireType(tag & 7, LEN, top);
        end = lengthEnd(r, r.len, top);
        start = r.pos;
        r.pos = end;
      } else if (f === 2) {
        expectWireType(tag & 7, VARINT, top);
        count = r.uint32();
      } else if (f === 3) {
        expectWireType(tag & 7, LEN, top);
        deduplicationId = readString(r, r.len, top);
      } else if (f === 4) {
        expectWireType(tag & 7, LEN, top);
        readQuota(r, r.len, top, quotas);
      } else skip(r, tag & 7, r.len, top);
    }
  } catch (e) {
    throw malformed(e, 'CheckRequest');
  }
  const d: Dictionaries = { global: usableGlobalWords(count), message: [] };
  const out = { names: [] as string[], values: [] as Value[] };
  const where = new Where(-1);
  try {
    decodeAttributes(r, start, end, d, where, out);
  } catch (e) {
    throw malformed(e, where.path());
  }
  const attributes: AttributeSet = new Map();
  for (let i = 0; i < out.names.length; i++) {
    attributes.set(out.names[i] as string, out.values[i] as Value);
  }
  for (const [name, q] of quotas) {
    if (!Number.isInteger(q.amount) || q.amount <= 0) {
      throw bad(`quotas[${name}].amount must be a positive integer`);
    }
  }
  return { attributes, deduplicationId, quotas };
}

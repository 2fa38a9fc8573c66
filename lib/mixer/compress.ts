/**
 * Attribute sets → compressed attributes (the client side: the agent, tests, the bench). Words of
 * the global dictionary go by index; any other string is added once to a message dictionary.
 * A batch of reports is delta-encoded: each entry carries only what changed since the entry
 * before it and all entries share one dictionary (`default_words`). Delta encoding cannot say
 * "this attribute is gone", so a set that lacks an attribute of the set before it starts a new
 * request.
 */
import { globalIndex, globalWordCount } from './global-dictionary.ts';
import { Duration, IpAddress, ValueType, valuesEqual, type Value } from './value.ts';
import { attributeType } from './vocabulary.ts';
import type {
  CompressedAttributesMessage,
  ProtoTime,
  ReportRequestMessage,
  StringMapMessage,
} from './wire.ts';

/** A message dictionary under construction. */
export class WordTable {
  private readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly useGlobal: boolean;

  /** `useGlobal: false` spells every word in the message (for `global_word_count: 0`). */
  constructor(useGlobal = true) {
    this.useGlobal = useGlobal;
  }

  indexOf(word: string): number {
    if (this.useGlobal) {
      const g = globalIndex.get(word);
      if (g !== undefined) return g;
    }
    return this.messageIndexOf(word);
  }

  /** The word's index in the message dictionary, even when the global dictionary has it. */
  messageIndexOf(word: string): number {
    let i = this.index.get(word);
    if (i === undefined) {
      this.list.push(word);
      i = -this.list.length;
      this.index.set(word, i);
    }
    return i;
  }

  get words(): string[] {
    return [...this.list];
  }

  get globalWordCount(): number {
    return this.useGlobal ? globalWordCount : 0;
  }
}

function protoTime(ms: number): ProtoTime {
  return new Duration(ms).toProto();
}

interface MutableCompressed {
  strings: Record<string, number>;
  int64s: Record<string, number>;
  doubles: Record<string, number>;
  bools: Record<string, boolean>;
  timestamps: Record<string, ProtoTime>;
  durations: Record<string, ProtoTime>;
  bytes: Record<string, Uint8Array>;
  string_maps: Record<string, StringMapMessage>;
}

/** Whether a number goes as int64 (its declared type, or an integer of no declared type). */
export function isInt64(name: string, v: number): boolean {
  const type = attributeType(name);
  return type === ValueType.INT64 || (type !== ValueType.DOUBLE && Number.isInteger(v));
}

function put(out: MutableCompressed, key: number, name: string, v: Value, t: WordTable): void {
  const k = String(key);
  if (typeof v === 'string') out.strings[k] = t.indexOf(v);
  else if (typeof v === 'boolean') out.bools[k] = v;
  else if (typeof v === 'number') {
    if (isInt64(name, v)) out.int64s[k] = v;
    else out.doubles[k] = v;
  } else if (v instanceof Date) out.timestamps[k] = protoTime(v.getTime());
  else if (v instanceof Duration) out.durations[k] = v.toProto();
  else if (v instanceof IpAddress) out.bytes[k] = v.bytes;
  else if (v instanceof Uint8Array) out.bytes[k] = v;
  else {
    const entries: Record<string, number> = {};
    for (const [mk, mv] of v) entries[String(t.indexOf(mk))] = t.indexOf(mv);
    out.string_maps[k] = { entries };
  }
}

/** The attributes of `attrs` (all of them, or those `only` lets through) with words from `t`. */
function encode(
  attrs: ReadonlyMap<string, Value>,
  t: WordTable,
  only?: (name: string, v: Value) => boolean,
): MutableCompressed {
  const out: MutableCompressed = {
    strings: {},
    int64s: {},
    doubles: {},
    bools: {},
    timestamps: {},
    durations: {},
    bytes: {},
    string_maps: {},
  };
  for (const [name, v] of attrs) {
    if (only && !only(name, v)) continue;
    put(out, t.indexOf(name), name, v, t);
  }
  return out;
}

/** One compressed set with its own message dictionary. */
export function compress(
  attrs: ReadonlyMap<string, Value>,
  t: WordTable = new WordTable(),
): CompressedAttributesMessage {
  const body = encode(attrs, t);
  return { words: t.words, ...body };
}

/**
 * A batch of reported sets as few requests as delta encoding allows (usually one), each with a
 * shared dictionary in `default_words`.
 */
export function compressReport(
  batch: readonly ReadonlyMap<string, Value>[],
  useGlobal = true,
): ReportRequestMessage[] {
  const requests: ReportRequestMessage[] = [];
  let t = new WordTable(useGlobal);
  let entries: CompressedAttributesMessage[] = [];
  let prev: ReadonlyMap<string, Value> | undefined;
  const flush = () => {
    if (entries.length === 0) return;
    requests.push({
      attributes: entries,
      default_words: t.words,
      global_word_count: t.globalWordCount,
    });
    t = new WordTable(useGlobal);
    entries = [];
    prev = undefined;
  };
  for (const attrs of batch) {
    if (prev !== undefined) {
      const p = prev;
      for (const name of p.keys()) {
        if (!attrs.has(name)) {
          flush();
          break;
        }
      }
    }
    const base = prev;
    entries.push(
      encode(attrs, t, base === undefined ? undefined : (name, v) => !sameAs(base, name, v)),
    );
    prev = attrs;
  }
  flush();
  return requests;
}

function sameAs(prev: ReadonlyMap<string, Value>, name: string, v: Value): boolean {
  const p = prev.get(name);
  return p !== undefined && valuesEqual(p, v);
}

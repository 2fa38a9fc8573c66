/**
 * Compressed attributes → attribute sets. Indices >= 0 name global dictionary words, indices < 0
 * name message words (`-1` is `words[0]`). Report entries are deltas: each one changes the set
 * before it, and an entry without words of its own uses the request's `default_words`.
 *
 * Requests are untrusted: a word index outside either dictionary, a value of the wrong shape or a
 * global dictionary of another size is an InvalidRequest error that names the field.
 */
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { globalDictionary, globalDictionaryVersion, globalWordCount } from './global-dictionary.ts';
import { Duration, IpAddress, ValueType, type Value } from './value.ts';
import { attributeType } from './vocabulary.ts';

export type AttributeSet = Map<string, Value>;

/**
 * The attribute sets of one report, in order. A consumer reads each set before asking for the
 * next and keeps none of them: a decoder may hand out one Map updated in place with each delta
 * (lib/mixer/wire-decode.ts does). An array of sets is one too.
 */
export interface AttributeSets extends Iterable<ReadonlyMap<string, Value>> {
  readonly length: number;
}

export function bad(message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidRequest, message);
}

/**
 * How many global words a request may use: the client's count when it is at most ours (words are
 * only appended, so an older client's dictionary is a prefix of ours: Istio's Mixer allowed it
 * too), none when the client sends 0 (it spells every word in the message). A client that knows
 * more words than we do is refused.
 */
export function usableGlobalWords(clientCount: unknown, field = 'global_word_count'): number {
  const n = clientCount ?? 0;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= globalWordCount) return n;
  throw bad(
    `${field} is ${typeof n === 'number' ? String(n) : 'not a number'} but this Mixer's global dictionary (${globalDictionaryVersion}) has ` +
      `${String(globalWordCount)} words: the client's dictionary is newer than this Mixer's ` +
      `(upgrade Mixer first, or send 0 and spell every word in the message)`,
  );
}

interface Words {
  readonly message: readonly string[];
  readonly global: number;
}

type Field = () => string;

/** The error for a word index that is in neither dictionary. */
export function wordError(
  index: number,
  global: number,
  messageWords: number,
  field: string,
): IstioLiteError {
  if (index >= 0) {
    return bad(
      global === 0
        ? `${field}: word index ${String(index)} refers to the global dictionary, but global_word_count is 0`
        : `${field}: word index ${String(index)} is outside the global dictionary (${String(global)} words)`,
    );
  }
  return bad(
    `${field}: word index ${String(index)} is outside the message dictionary (${String(messageWords)} words)`,
  );
}

function word(index: number, words: Words, field: Field): string {
  const w =
    index >= 0
      ? index < words.global
        ? globalDictionary[index]
        : undefined
      : words.message[-index - 1];
  if (w === undefined) throw wordError(index, words.global, words.message.length, field());
  return w;
}

function record(v: unknown, field: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(`${field} must be a map`);
  return v as Record<string, unknown>;
}

function stringList(v: unknown, field: string): readonly string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((w) => typeof w === 'string')) {
    throw bad(`${field} must be a list of strings`);
  }
  return v;
}

function time(v: unknown, field: Field): { seconds: number; nanos: number } {
  const r = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  if (r === undefined && v !== undefined && v !== null) throw bad(`${field()} must be a message`);
  const seconds = r?.['seconds'] ?? 0;
  const nanos = r?.['nanos'] ?? 0;
  if (typeof seconds !== 'number' || typeof nanos !== 'number') {
    throw bad(`${field()} must have numeric seconds and nanos`);
  }
  return { seconds, nanos };
}

/** The compressed map each vocabulary type travels in. */
export const wireMap: Readonly<Record<ValueType, string>> = {
  STRING: 'strings',
  INT64: 'int64s',
  DOUBLE: 'doubles',
  BOOL: 'bools',
  TIMESTAMP: 'timestamps',
  DURATION: 'durations',
  BYTES: 'bytes',
  IP_ADDRESS: 'bytes',
  STRING_MAP: 'string_maps',
};

/** Decodes one compressed set into `into` (which may hold the previous set of a report). */
export function decompressInto(
  into: AttributeSet,
  msg: unknown,
  words: Words,
  field = 'attributes',
): void {
  const m = record(msg, field);
  if (m === undefined) return;
  // Field paths are built only for error messages (this loop is on every request's path).
  const entries = (key: string, each: (name: string, v: unknown, f: Field) => void): void => {
    const raw = m[key];
    if (raw === undefined || raw === null) return;
    const r = record(raw, `${field}.${key}`);
    if (r === undefined) return;
    for (const k in r) {
      const f = () => `${field}.${key}[${k}]`;
      const name = word(Number(k), words, f);
      const type = attributeType(name);
      if (type !== undefined && wireMap[type] !== key) {
        throw bad(`${f()}: ${name} is a ${type}, sent in ${wireMap[type]}, not ${key}`);
      }
      each(name, r[k], f);
    }
  };
  entries('strings', (name, v, f) => {
    if (typeof v !== 'number') throw bad(`${f()} must be a word index`);
    into.set(name, word(v, words, f));
  });
  entries('int64s', (name, v, f) => {
    if (typeof v !== 'number') throw bad(`${f()} must be an integer`);
    into.set(name, v);
  });
  entries('doubles', (name, v, f) => {
    if (typeof v !== 'number') throw bad(`${f()} must be a number`);
    into.set(name, v);
  });
  entries('bools', (name, v, f) => {
    if (typeof v !== 'boolean') throw bad(`${f()} must be a bool`);
    into.set(name, v);
  });
  entries('timestamps', (name, v, f) => {
    const t = time(v, f);
    into.set(name, new Date(t.seconds * 1000 + Math.floor(t.nanos / 1e6)));
  });
  entries('durations', (name, v, f) => {
    const t = time(v, f);
    into.set(name, Duration.fromProto(t.seconds, t.nanos));
  });
  entries('bytes', (name, v, f) => {
    if (!(v instanceof Uint8Array)) throw bad(`${f()} must be bytes`);
    if (attributeType(name) === ValueType.IP_ADDRESS) {
      const ip = IpAddress.fromBytes(v);
      if (ip === undefined) throw bad(`${f()}: ${name} must be 4 or 16 bytes (an IP address)`);
      into.set(name, ip);
    } else {
      into.set(name, Uint8Array.from(v));
    }
  });
  entries('string_maps', (name, v, f) => {
    const sm = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
    const e = sm?.['entries'] === undefined ? undefined : record(sm['entries'], `${f()}.entries`);
    const map = new Map<string, string>();
    if (e !== undefined) {
      for (const k in e) {
        const ef = () => `${f()}.entries[${k}]`;
        const val = e[k];
        if (typeof val !== 'number') throw bad(`${ef()} must be a word index`);
        map.set(word(Number(k), words, ef), word(val, words, ef));
      }
    }
    into.set(name, map);
  });
}

/** The attribute set of a Check request. */
export function decompressCheck(request: unknown): AttributeSet {
  const r = record(request, 'request') ?? {};
  const global = usableGlobalWords(r['global_word_count']);
  const a = record(r['attributes'], 'attributes');
  const out: AttributeSet = new Map();
  decompressInto(out, a, { global, message: stringList(a?.['words'], 'attributes.words') });
  return out;
}

/** The attribute sets of a Report request, deltas applied, in order. */
export function decompressReport(request: unknown): AttributeSet[] {
  const r = record(request, 'request') ?? {};
  const global = usableGlobalWords(r['global_word_count']);
  const defaults = stringList(r['default_words'], 'default_words');
  const list = r['attributes'] ?? [];
  if (!Array.isArray(list)) throw bad('attributes must be a list');
  const out: AttributeSet[] = [];
  let prev: AttributeSet = new Map();
  list.forEach((entry: unknown, i) => {
    const field = `attributes[${String(i)}]`;
    const own = stringList(record(entry, field)?.['words'], `${field}.words`);
    const next = new Map(prev);
    decompressInto(next, entry, { global, message: own.length > 0 ? own : defaults }, field);
    out.push(next);
    prev = next;
  });
  return out;
}

/**
 * Referenced attributes: what a Check answer depended on, so a client can reuse the answer for any
 * request that agrees on exactly those attributes (absent ones absent, present ones equal; for a
 * string map, only the keys read). Mixer encodes them with word indices like compressed
 * attributes; the agent decodes them into cache keys.
 */
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { globalDictionary } from './global-dictionary.ts';
import { WordTable } from './compress.ts';
import { Condition, type AttributeMatchMessage, type ReferencedAttributesMessage } from './wire.ts';

/** One attribute read: `mapKey` set when one key of a string map was read. */
export interface AttributeRef {
  readonly name: string;
  readonly mapKey?: string;
  readonly condition: typeof Condition.ABSENCE | typeof Condition.EXACT;
}

/** The key a read of one key of a string map is filed by (refKey of that reference). */
export function mapRefKey(name: string, key: string): string {
  return `${name}\u0000${key}`;
}

export function refKey(r: AttributeRef): string {
  return r.mapKey === undefined ? r.name : mapRefKey(r.name, r.mapKey);
}

/**
 * A map key's index in `t` for `map_key`: 0 means "the whole map", so a key that is global word 0
 * goes in the message words.
 */
export function mapKeyIndex(t: WordTable, key: string): number {
  const k = t.indexOf(key);
  return k === 0 ? t.messageIndexOf(key) : k;
}

export function encodeReferenced(refs: Iterable<AttributeRef>): ReferencedAttributesMessage {
  const t = new WordTable();
  const matches: AttributeMatchMessage[] = [];
  for (const r of refs) {
    const m: { name: number; condition: Condition; map_key?: number } = {
      name: t.indexOf(r.name),
      condition: r.condition,
    };
    if (r.mapKey !== undefined) m.map_key = mapKeyIndex(t, r.mapKey);
    matches.push(m);
  }
  return { words: t.words, attribute_matches: matches };
}

function wordAt(i: number, words: readonly string[]): string {
  const w = i >= 0 ? globalDictionary[i] : words[-i - 1];
  if (w === undefined) {
    throw new IstioLiteError(
      ErrorCode.InvalidRequest,
      `referenced_attributes: word index ${String(i)} is outside the dictionaries`,
    );
  }
  return w;
}

/** Decodes a response's referenced attributes (map_key 0 = the whole map: word 0 is no key). */
export function decodeReferenced(msg: ReferencedAttributesMessage): AttributeRef[] {
  return msg.attribute_matches.map((m) => {
    if (m.condition !== Condition.ABSENCE && m.condition !== Condition.EXACT) {
      throw new IstioLiteError(
        ErrorCode.InvalidRequest,
        `referenced_attributes: condition ${m.condition} is not supported`,
      );
    }
    const name = wordAt(m.name, msg.words);
    const key = m.map_key ?? 0;
    return key === 0
      ? { name, condition: m.condition }
      : { name, mapKey: wordAt(key, msg.words), condition: m.condition };
  });
}

/**
 * The check cache's entries of one shape (./check-cache.ts), found by the request's values of
 * the shape's referenced attributes: a tree of maps, one level per attribute, keyed by the value
 * itself. Looking a request up walks the tree with values the request already holds, so it builds
 * no key: a string key of all the values (and its parts) cost a few strings per shape on every
 * check. Values of different types never meet in one level: an attribute's type is the
 * vocabulary's. An address is keyed by its text, and the rarer kinds by a prefixed string (a time
 * by its milliseconds, bytes in base64, a whole string map by its sorted entries).
 */
import { Condition } from '../../lib/mixer/wire.ts';
import type { AttributeRef } from '../../lib/mixer/referenced.ts';
import { Duration, IpAddress, type Value } from '../../lib/mixer/value.ts';

/** One level's key: the value, or ABSENT for an attribute the shape requires absent. */
export type Part = string | number | boolean | symbol;

const ABSENT = Symbol('absent');

/** Where an entry sits: its parts, or for a shape that references nothing, one ABSENT level. */
const NO_PARTS: readonly Part[] = [ABSENT];
const pathOf = (parts: readonly Part[]): readonly Part[] => (parts.length === 0 ? NO_PARTS : parts);

function valuePart(v: Value): Part {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof IpAddress) return v.toString(); // kept by the address: no new string
  if (v instanceof Date) return `t${String(v.getTime())}`;
  if (v instanceof Duration) return `d${String(v.ms)}`;
  if (v instanceof Uint8Array) return `b${Buffer.from(v).toString('base64')}`;
  return `m${JSON.stringify([...v].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))}`;
}

/** The request's part for one referenced attribute; undefined when it does not fit. */
function partFor(r: AttributeRef, bag: ReadonlyMap<string, Value>): Part | undefined {
  let v: Value | string | undefined = bag.get(r.name);
  if (r.mapKey !== undefined)
    v = v instanceof Map ? (v as ReadonlyMap<string, string>).get(r.mapKey) : undefined;
  if (r.condition === Condition.ABSENCE) return v === undefined ? ABSENT : undefined;
  return v === undefined ? undefined : valuePart(v);
}

/** The request's parts for `refs`, or undefined when it does not fit them. */
export function partsFor(
  refs: readonly AttributeRef[],
  bag: ReadonlyMap<string, Value>,
): Part[] | undefined {
  const parts: Part[] = [];
  for (const r of refs) {
    const p = partFor(r, bag);
    if (p === undefined) return undefined;
    parts.push(p);
  }
  return parts;
}

type Level<E> = Map<Part, Level<E> | E>;

/** Entries by their parts: one map per referenced attribute (a shape with none: one entry). */
export class ValueTrie<E extends object> {
  private readonly root: Level<E> = new Map();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The entry whose parts are the request's values for `refs`. */
  find(refs: readonly AttributeRef[], bag: ReadonlyMap<string, Value>): E | undefined {
    let node: Level<E> | E | undefined = this.root;
    if (refs.length === 0) node = this.root.get(ABSENT);
    // An index, not for-of: an iterator a lookup where V8 has not fully optimized (lib/jit.ts).
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i];
      if (r === undefined) return undefined;
      const p = partFor(r, bag);
      if (p === undefined || !(node instanceof Map)) return undefined;
      node = node.get(p);
      if (node === undefined) return undefined;
    }
    return node instanceof Map ? undefined : node;
  }

  get(parts: readonly Part[]): E | undefined {
    let node: Level<E> | E | undefined = this.root;
    for (const p of pathOf(parts)) {
      if (!(node instanceof Map)) return undefined;
      node = node.get(p);
    }
    return node instanceof Map ? undefined : node;
  }

  /** Puts `e` at `parts` (the caller removed any entry there first). */
  set(parts: readonly Part[], e: E): void {
    const path = pathOf(parts);
    let node = this.root;
    for (let i = 0; i < path.length - 1; i++) {
      const p = path[i] as Part;
      let next = node.get(p);
      if (!(next instanceof Map)) {
        next = new Map();
        node.set(p, next);
      }
      node = next;
    }
    if (!node.has(path[path.length - 1] as Part)) this.count++;
    node.set(path[path.length - 1] as Part, e);
  }

  /** Removes `e` if it is the entry at `parts`, and the levels it leaves empty. */
  delete(parts: readonly Part[], e: E): boolean {
    const path = pathOf(parts);
    const levels: Level<E>[] = [this.root];
    for (let i = 0; i < path.length - 1; i++) {
      const next = levels[i]?.get(path[i] as Part);
      if (!(next instanceof Map)) return false;
      levels.push(next);
    }
    const last = levels[levels.length - 1];
    if (last?.get(path[path.length - 1] as Part) !== e) return false;
    last.delete(path[path.length - 1] as Part);
    this.count--;
    for (let i = levels.length - 1; i > 0 && levels[i]?.size === 0; i--) {
      levels[i - 1]?.delete(path[i - 1] as Part);
    }
    return true;
  }
}

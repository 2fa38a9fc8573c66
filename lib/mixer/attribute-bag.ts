/**
 * An attribute set that costs a few hundred bytes to make: a slot per attribute name in one array,
 * not a Map. Envoy asks the agent about every request (ext_authz) and the agent makes a set of
 * twenty-odd attributes for each; a Map of that size grows its table four times (4, 8, 16, 32
 * entries: ~1.9 KB allocated a set), this array once (~350 bytes), so the young generation fills,
 * and is scavenged, less often under load.
 *
 * Names get their slot the first time any set holds them, in that order, for the life of the
 * process; past MAX_SLOTS names a set keeps the rest in a Map of its own. Reading by name is one
 * lookup in the slot table and one array read, as fast as a Map's. Iterating (the rarer paths: a
 * call to Mixer, a test) goes through a Map made for it, in slot order. Absent and undefined are
 * the same: no Value is undefined.
 */
import { MapView } from './map-view.ts';
import type { Value } from './value.ts';

/** What carrier entries are applied to (lib/mixer/envoy-attributes.ts): a Map or a bag. */
export interface MutableAttributes {
  get(name: string): Value | undefined;
  set(name: string, value: Value): unknown;
}

/** Names with a slot; a bound, since carrier keys come from configuration. */
const MAX_SLOTS = 128;
const slotOf = new Map<string, number>();
const slotNames: string[] = [];

function slotFor(name: string): number | undefined {
  let i = slotOf.get(name);
  if (i === undefined && slotNames.length < MAX_SLOTS) {
    i = slotNames.length;
    slotOf.set(name, i);
    slotNames.push(name);
  }
  return i;
}

/** A name resolved to its slot once, for a path that sets it on every request. */
export interface AttributeName {
  readonly name: string;
  /** Undefined past MAX_SLOTS: `put` falls back to `set`. */
  readonly slot: number | undefined;
}

/** `name` with its slot, taken now (call it once, where the hot path's names are declared). */
export function attributeName(name: string): AttributeName {
  return { name, slot: slotFor(name) };
}

export class AttributeBag extends MapView implements MutableAttributes {
  /** Room for every name with a slot so far; a name given one later grows it. */
  private readonly slots = new Array<Value | undefined>(slotNames.length);
  private count = 0;
  /** Names past MAX_SLOTS. */
  private extra: Map<string, Value> | undefined;

  override get size(): number {
    return this.count + (this.extra?.size ?? 0);
  }

  get(name: string): Value | undefined {
    const i = slotOf.get(name);
    return i === undefined ? this.extra?.get(name) : this.slots[i];
  }

  set(name: string, value: Value): this {
    const i = slotFor(name);
    if (i === undefined) (this.extra ??= new Map()).set(name, value);
    else {
      if (this.slots[i] === undefined) this.count++;
      this.slots[i] = value;
    }
    return this;
  }

  /** `set` without looking the name up. */
  put(n: AttributeName, value: Value): this {
    const i = n.slot;
    if (i === undefined) return this.set(n.name, value);
    if (this.slots[i] === undefined) this.count++;
    this.slots[i] = value;
    return this;
  }

  /** `get` without looking the name up. */
  at(n: AttributeName): Value | undefined {
    const i = n.slot;
    return i === undefined ? this.extra?.get(n.name) : this.slots[i];
  }

  delete(name: string): boolean {
    const i = slotOf.get(name);
    if (i === undefined) return this.extra?.delete(name) ?? false;
    if (this.slots[i] === undefined) return false;
    this.slots[i] = undefined;
    this.count--;
    return true;
  }

  /** The set as a Map, in slot order. */
  toMap(): Map<string, Value> {
    const m = new Map<string, Value>();
    for (let i = 0; i < this.slots.length; i++) {
      const v = this.slots[i];
      if (v !== undefined) m.set(slotNames[i] as string, v);
    }
    if (this.extra) for (const [k, v] of this.extra) m.set(k, v);
    return m;
  }
}

/**
 * A read-only map of attributes that answers `get` and `has` itself and iterates through a Map
 * it makes when asked (`toMap`): for attribute sets read by name on the hot path and iterated
 * only on rarer ones (an attribute set in slots, a request's attributes layered over its
 * workloads').
 */
import type { Value } from './value.ts';

export abstract class MapView implements ReadonlyMap<string, Value> {
  abstract get(name: string): Value | undefined;

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Every attribute, as a new Map. */
  abstract toMap(): Map<string, Value>;

  get size(): number {
    return this.toMap().size;
  }

  forEach(
    fn: (value: Value, name: string, map: ReadonlyMap<string, Value>) => void,
    thisArg?: unknown,
  ): void {
    for (const [k, v] of this.toMap()) fn.call(thisArg, v, k, this);
  }

  entries(): MapIterator<[string, Value]> {
    return this.toMap().entries();
  }

  keys(): MapIterator<string> {
    return this.toMap().keys();
  }

  values(): MapIterator<Value> {
    return this.toMap().values();
  }

  [Symbol.iterator](): MapIterator<[string, Value]> {
    return this.entries();
  }
}

/**
 * How compiled expressions read attributes. `BagReader` just reads; `TrackingReader` also records
 * every read (absent or present, whole attribute or one map key) so a Check answer can list exactly
 * the attributes it depended on. Readers are per request and not shared between requests.
 */
import { mapRefKey, type AttributeRef } from '../../lib/mixer/referenced.ts';
import type { Value } from '../../lib/mixer/value.ts';

export interface AttributeReader {
  /** The attribute, or undefined when the request does not have it. */
  get(name: string): Value | undefined;
  /**
   * One key of a string map attribute, or undefined when the map or the key is absent. `refKey`:
   * mapRefKey(name, key), when the caller has it made already.
   */
  mapValue(name: string, key: string, refKey?: string): string | undefined;
}

export class BagReader implements AttributeReader {
  private readonly bag: ReadonlyMap<string, Value>;

  constructor(bag: ReadonlyMap<string, Value>) {
    this.bag = bag;
  }

  get(name: string): Value | undefined {
    return this.bag.get(name);
  }

  mapValue(name: string, key: string): string | undefined {
    const m = this.bag.get(name);
    return m instanceof Map ? (m as ReadonlyMap<string, string>).get(key) : undefined;
  }
}

export class TrackingReader implements AttributeReader {
  private readonly bag: ReadonlyMap<string, Value>;
  private readonly seen = new Map<string, AttributeRef>();

  constructor(bag: ReadonlyMap<string, Value>) {
    this.bag = bag;
  }

  get(name: string): Value | undefined {
    const v = this.bag.get(name);
    if (!this.seen.has(name)) {
      this.seen.set(name, { name, condition: v === undefined ? 'ABSENCE' : 'EXACT' });
    }
    return v;
  }

  mapValue(name: string, key: string, refKey?: string): string | undefined {
    const m = this.bag.get(name);
    if (!(m instanceof Map)) {
      if (!this.seen.has(name)) this.seen.set(name, { name, condition: 'ABSENCE' });
      return undefined;
    }
    const v = (m as ReadonlyMap<string, string>).get(key);
    const k = refKey ?? mapRefKey(name, key);
    if (!this.seen.has(k) && this.seen.get(name)?.condition !== 'EXACT') {
      this.seen.set(k, { name, mapKey: key, condition: v === undefined ? 'ABSENCE' : 'EXACT' });
    }
    return v;
  }

  /** Every read so far, once each (a whole-map read covers its keys). */
  references(): AttributeRef[] {
    const out: AttributeRef[] = [];
    for (const r of this.seen.values()) {
      if (r.mapKey !== undefined && this.seen.get(r.name)?.condition === 'EXACT') continue;
      out.push(r);
    }
    return out;
  }
}

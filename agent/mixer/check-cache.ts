/**
 * The check cache of Istio 0.2's Mixer client. Mixer answers a Check with the attributes its
 * decision depended on (referenced attributes: each one absent, or present with an exact value;
 * for a string map, possibly one key of it). Any later request that agrees on exactly those
 * attributes gets the same decision, until `valid_duration` passes or `valid_use_count` uses are
 * spent. A decision that depended on a regular expression match is not cached.
 *
 * Entries are grouped by shape (the list of referenced attributes): a lookup computes, for each
 * known shape, the request's values for those attributes find its entry (./check-keys.ts). At most
 * 10,000 entries by default, the least recently used going first, as CLOCK approximates it: a hit
 * only marks its entry, and eviction passes over (and unmarks) marked entries once before taking
 * the oldest unmarked one. Reordering a list on every hit instead re-allocated the list's table
 * every few dozen checks, and those tables lived long enough to be promoted to the old
 * generation: under load, full collections every few seconds and their pauses in the p99. A shape
 * goes when its last entry goes.
 *
 * Refresh ahead: once an entry is down to its last quarter of uses or of its valid duration, the
 * next hit says so (once per entry), and the caller asks Mixer again in the background with that
 * request, whose answer renews the entry. Without it, every entry running out sent all the
 * checks in flight at that moment to Mixer together (64 at a time under load) until the first
 * answer came back; with it, a busy entry is renewed by one call before it runs out. When the
 * entry runs out while that call is still on its way (a slow Mixer), the checks that need it wait
 * for the renewal instead of each asking Mixer (no stampede: one call, however many requests);
 * the renewal's end (an answer or a failure, within the Mixer timeout) lets them go on.
 *
 * How far ahead follows the entry's use: a quarter of 200 uses lasts 7 ms at 7,000 hits a second
 * (one key of a busy sidecar), less than a Mixer round trip, and then every check of that key
 * waited for the renewal, several a second. So the renewal starts once the uses left would last
 * no longer than `leadMs` (the Mixer deadline) at the rate the entry was used since its last
 * answer. An answer with the same status adds its uses to those left (each use is still one that
 * some answer of Mixer granted, so Mixer is asked once per valid_use_count uses however early);
 * a different status replaces them at once. Left uses stay below the lead's worth plus one
 * answer's, and a changed decision lands with the next renewal, as soon as it did before.
 */
import { Condition, type ReferencedAttributesMessage } from '../../lib/mixer/wire.ts';
import { decodeReferenced, refKey, type AttributeRef } from '../../lib/mixer/referenced.ts';
import type { Value } from '../../lib/mixer/value.ts';
import { partsFor, ValueTrie, type Part } from './check-keys.ts';

export interface CachedStatus {
  readonly code: number;
  readonly message: string;
}

export interface CacheHit {
  readonly status: CachedStatus;
  /**
   * Set when the entry is near its end and nobody renews it yet: ask Mixer again for this request
   * and pass the promise of that renewal (settled once its answer is inserted, or it failed).
   */
  readonly renew: ((renewal: Promise<void>) => void) | undefined;
}

/** The entry ran out while its renewal is on its way: look up again once it settles. */
export interface CacheWait {
  readonly wait: Promise<void>;
}

export interface Cacheable {
  readonly status: CachedStatus;
  readonly validMs: number;
  readonly validUseCount: number;
  readonly referenced: ReferencedAttributesMessage;
}

interface Shape {
  readonly id: string;
  readonly refs: readonly AttributeRef[];
  /** Its entries by their values of `refs` (./check-keys.ts). */
  readonly entries: ValueTrie<Entry>;
}

interface Entry {
  readonly shape: Shape;
  readonly parts: readonly Part[];
  status: CachedStatus;
  expiresAt: number;
  usesLeft: number;
  /** Refresh once usesLeft is at most this, or from refreshAt on. */
  refreshUses: number;
  refreshAt: number;
  /** When the last answer came, and the uses left just after it (for the rate of use). */
  grantedAt: number;
  grantedUses: number;
  refreshing: boolean;
  /** Hit since the last eviction pass went by (CLOCK's reference bit). */
  used: boolean;
  /** The renewal on its way, if any: the entry stays (spent or expired) for checks to wait on. */
  renewal: Promise<void> | undefined;
  /** What a hit that renews nothing returns: one object per answer, not per hit. */
  hit: CacheHit;
}

const refreshShare = 0.25;

/**
 * Sets `e` from Mixer's answer (the request that got it used it once already): the uses still
 * left are kept when the status is the same, and the next refresh is due `leadMs` of use (at the
 * rate since the last answer) before they run out, or at the last quarter of them, whichever is
 * sooner; or at the last quarter of the valid duration (time passes at one rate: a quarter of
 * 10 s is ample).
 */
function renew(e: Entry, answer: Cacheable, now: number, leadMs: number): void {
  const same = answer.status.code === e.status.code && answer.status.message === e.status.message;
  const kept = same && e.expiresAt > now && e.usesLeft > 0 ? e.usesLeft : 0;
  const elapsed = now - e.grantedAt;
  const perMs = elapsed > 0 ? (e.grantedUses - e.usesLeft) / elapsed : 0;
  if (!same) {
    e.status = answer.status;
    e.hit = { status: answer.status, renew: undefined };
  }
  e.expiresAt = now + answer.validMs;
  e.usesLeft = kept + answer.validUseCount - 1;
  // Within one millisecond of the last answer the rate is unknown: keep the lead it had.
  const lead = elapsed > 0 ? Math.ceil(perMs * leadMs) : e.refreshUses;
  e.refreshUses = Math.max(Math.floor(answer.validUseCount * refreshShare), lead);
  e.refreshAt = now + answer.validMs * (1 - refreshShare);
  e.refreshing = false;
  e.grantedAt = now;
  e.grantedUses = e.usesLeft;
}

export type InsertResult = 'cached' | 'regex' | 'not-reusable';

export class CheckCache {
  private readonly capacity: number;
  private readonly leadMs: number;
  private readonly now: () => number;
  private readonly shapes = new Map<string, Shape>();
  /** The shapes again, for lookups to walk without an iterator object. */
  private readonly shapeList: Shape[] = [];
  /** Every entry, oldest first (an eviction pass moves marked ones to the end). */
  private readonly lru = new Set<Entry>();

  /**
   * `capacity`: entries at most (10,000); `leadMs`: how long before an entry would run out its
   * renewal starts, at its rate of use (1,000: the agent passes its Mixer Check deadline).
   */
  constructor(o: { capacity?: number; leadMs?: number; now?: () => number } = {}) {
    this.capacity = o.capacity ?? 10_000;
    this.leadMs = o.leadMs ?? 1000;
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.lru.size;
  }

  get shapeCount(): number {
    return this.shapes.size;
  }

  /**
   * The cached decision for `bag`, spending one use of it; a wait when its entry ran out while
   * being renewed; undefined on a miss.
   */
  lookup(bag: ReadonlyMap<string, Value>): CacheHit | CacheWait | undefined {
    const now = this.now();
    const shapes = this.shapeList;
    for (let i = 0; i < shapes.length; i++) {
      const shape = shapes[i] as Shape;
      const e = shape.entries.find(shape.refs, bag);
      if (e === undefined) continue;
      if (e.expiresAt <= now || e.usesLeft <= 0) {
        if (e.renewal !== undefined) return { wait: e.renewal };
        this.remove(e);
        if (shapes[i] !== shape) i--; // its shape went with it: the next one is at i now
        continue;
      }
      e.usesLeft--;
      const refresh = !e.refreshing && (e.usesLeft <= e.refreshUses || now >= e.refreshAt);
      if (refresh) e.refreshing = true;
      // A spent entry stays while it is (about to be) renewed; the next lookup sees it spent.
      if (e.usesLeft <= 0 && !e.refreshing) this.remove(e);
      else e.used = true;
      if (!refresh) return e.hit;
      return {
        status: e.status,
        renew: (renewal) => {
          e.renewal = renewal;
          void renewal.then(() => {
            e.renewal = undefined;
            // Not replaced by the answer (not reusable, or another shape): let it go if spent.
            if (e.usesLeft <= 0 || e.expiresAt <= this.now()) this.remove(e);
          });
        },
      };
    }
    return undefined;
  }

  /** Remembers Mixer's answer for `bag`, when it may be reused. */
  insert(bag: ReadonlyMap<string, Value>, answer: Cacheable): InsertResult {
    if (answer.referenced.attribute_matches.some((m) => m.condition === Condition.REGEX))
      return 'regex';
    if (answer.validMs <= 0 || answer.validUseCount <= 1) return 'not-reusable';
    let decoded: AttributeRef[];
    try {
      decoded = decodeReferenced(answer.referenced);
    } catch {
      return 'not-reusable'; // A condition or word this client cannot interpret.
    }
    const refs = decoded.sort((a, b) => {
      const ka = refKey(a);
      const kb = refKey(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    const shapeId = JSON.stringify(refs.map((r) => [refKey(r), r.condition]));
    const parts = partsFor(refs, bag);
    if (parts === undefined) return 'not-reusable'; // Mixer referenced something the request lacks.
    const now = this.now();
    // A renewal (the same key) updates its entry in place: no new entry, and the tables that
    // hold entries are left alone (re-made, they would be promoted and collected in full).
    const old = this.shapes.get(shapeId)?.entries.get(parts);
    if (old) {
      renew(old, answer, now, this.leadMs);
      return 'cached';
    }
    // Room for it first, so a pass never takes the entry just made (nor its shape).
    if (this.lru.size >= this.capacity) this.evict(this.capacity - 1);
    let shape = this.shapes.get(shapeId);
    if (shape === undefined) {
      shape = { id: shapeId, refs, entries: new ValueTrie() };
      this.shapes.set(shapeId, shape);
      this.shapeList.push(shape);
    }
    const entry: Entry = {
      shape,
      parts,
      status: answer.status,
      expiresAt: 0,
      usesLeft: 0,
      refreshUses: 0,
      refreshAt: 0,
      grantedAt: now,
      grantedUses: 0,
      refreshing: false,
      used: false,
      renewal: undefined,
      hit: { status: answer.status, renew: undefined },
    };
    renew(entry, answer, now, this.leadMs);
    shape.entries.set(parts, entry);
    this.lru.add(entry);
    return 'cached';
  }

  /** Down to `size` entries: the oldest not hit since the last pass go (CLOCK). */
  private evict(size: number): void {
    for (const e of this.lru) {
      if (this.lru.size <= size) return;
      if (e.used) {
        // A second chance: to the end, unmarked (a Set iterator visits it again, later).
        e.used = false;
        this.lru.delete(e);
        this.lru.add(e);
      } else this.remove(e);
    }
  }

  /** Drops `e` if it is still the cache's entry for its key (a replaced one is gone already). */
  private remove(e: Entry): void {
    if (!this.lru.delete(e)) return;
    e.shape.entries.delete(e.parts, e);
    if (e.shape.entries.size === 0) {
      this.shapes.delete(e.shape.id);
      this.shapeList.splice(this.shapeList.indexOf(e.shape), 1);
    }
  }

  clear(): void {
    this.lru.clear();
    this.shapes.clear();
    this.shapeList.length = 0;
  }
}

/**
 * A connection's open streams by id, without a Map on the hot path. A Map whose entries come and
 * go with every call re-allocates its hash table as the number of calls in flight rises and
 * falls, and V8 allocates the new table in the old generation when the Map already lives there:
 * at 24,000 calls a second those tables were the largest thing the agent put into its old
 * generation (V8's sampling heap profiler, keeping what no scavenge collected), and every few
 * seconds that growth cost a mark-compact and its pause.
 *
 * Streams sit in a fixed array of slots indexed by their id (a client's ids are odd and rise
 * one by one); a stream whose slot is taken by one still open goes to a small overflow Map, used
 * only when more streams are open at once than there are slots.
 */
export class StreamTable<T extends { readonly id: number }> {
  private readonly slots: (T | undefined)[];
  private readonly mask: number;
  private readonly overflow = new Map<number, T>();
  private count = 0;

  /** `slots`: a power of two. */
  constructor(slots = 256) {
    if (slots < 1 || (slots & (slots - 1)) !== 0) throw new Error('slots: a power of two');
    this.slots = new Array<T | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const s = this.slots[(id >>> 1) & this.mask];
    if (s !== undefined && s.id === id) return s;
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  /** Adds a stream whose id is not in the table. */
  add(stream: T): void {
    const i = (stream.id >>> 1) & this.mask;
    if (this.slots[i] === undefined) this.slots[i] = stream;
    else this.overflow.set(stream.id, stream);
    this.count++;
  }

  delete(id: number): boolean {
    const i = (id >>> 1) & this.mask;
    const s = this.slots[i];
    if (s !== undefined && s.id === id) {
      this.slots[i] = undefined;
    } else if (this.overflow.size === 0 || !this.overflow.delete(id)) {
      return false;
    }
    this.count--;
    return true;
  }

  /** The open streams (a copy: closing them while walking it is safe). */
  values(): T[] {
    const out: T[] = [];
    for (const s of this.slots) if (s !== undefined) out.push(s);
    for (const s of this.overflow.values()) out.push(s);
    return out;
  }
}

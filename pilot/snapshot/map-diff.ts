/**
 * What differs between two resource maps of one type, by name: computed once per pair of maps
 * however many streams (or checks) compare the same two snapshots.
 */
import type { Resource } from '../generate/resource.ts';

/** Names added or whose resource changed, and how many names are gone. */
export interface MapDiff {
  readonly changed: readonly string[];
  readonly removed: number;
}

/** Diffs of map pairs, computed once however many streams compare the same two snapshots. */
const diffs = new WeakMap<ReadonlyMap<string, Resource>, WeakMap<object, MapDiff>>();

export function mapDiff(
  from: ReadonlyMap<string, Resource>,
  to: ReadonlyMap<string, Resource>,
): MapDiff {
  let byTo = diffs.get(from);
  const hit = byTo?.get(to);
  if (hit) return hit;
  const changed: string[] = [];
  let kept = 0;
  for (const [n, r] of to) {
    const old = from.get(n);
    if (old === undefined) changed.push(n);
    else {
      kept++;
      if (old !== r && old.hash !== r.hash) changed.push(n);
    }
  }
  const d = { changed, removed: from.size - kept };
  if (!byTo) diffs.set(from, (byTo = new WeakMap()));
  byTo.set(to, d);
  return d;
}

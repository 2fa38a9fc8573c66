/**
 * What a stream sends for one type, given its subscription, what it holds and the snapshot:
 * state of the world (full sets for LDS/CDS, changed resources for EDS/RDS) or incremental
 * (changed resources plus removed names, for every type). Pure functions; the connection sends.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Resource } from '../generate/resource.ts';
import { isCompleteType, type TypeState } from './subscription.ts';

export interface Plan {
  readonly resources: readonly Resource[];
  /** Names the client must drop (incremental only). */
  readonly removed: readonly string[];
}

/**
 * State of the world. `inUse`: clusters the client's current listeners and routes name; CDS keeps
 * sending them (as the client has them) until those listeners and routes are replaced.
 */
export function planSotw(
  st: TypeState,
  all: ReadonlyMap<string, Resource>,
  inUse: ReadonlySet<string>,
): Plan | undefined {
  if (!isCompleteType(st.type)) {
    const out: Resource[] = [];
    for (const n of st.names) {
      const r = all.get(n);
      if (r && (st.mustRespond || st.sent.get(n)?.hash !== r.hash)) out.push(r);
    }
    return out.length > 0 || st.mustRespond ? { resources: out, removed: [] } : undefined;
  }
  const desired: Resource[] = [];
  if (st.wildcard) for (const r of all.values()) desired.push(r);
  else {
    for (const n of st.names) {
      const r = all.get(n);
      if (r) desired.push(r);
    }
  }
  if (st.type === TypeUrl.Cluster) {
    for (const c of inUse) {
      const held = st.sent.get(c);
      if (held && !all.has(c) && st.wants(c)) desired.push(held);
    }
  }
  let changed = st.mustRespond || desired.length !== st.sent.size;
  for (let i = 0; !changed && i < desired.length; i++) {
    const r = desired[i];
    if (r && st.sent.get(r.name)?.hash !== r.hash) changed = true;
  }
  return changed ? { resources: desired, removed: [] } : undefined;
}

/** Incremental: what changed among the subscribed resources, and what the client must drop. */
export function planDelta(
  st: TypeState,
  all: ReadonlyMap<string, Resource>,
  inUse: ReadonlySet<string>,
): Plan | undefined {
  const changed: Resource[] = [];
  const consider = (r: Resource) => {
    if (st.sent.get(r.name)?.hash !== r.hash) changed.push(r);
  };
  if (st.wildcard) for (const r of all.values()) consider(r);
  else {
    for (const n of st.names) {
      const r = all.get(n);
      if (r) consider(r);
    }
  }
  const removed: string[] = [];
  for (const n of st.sent.keys()) {
    if (!all.has(n) && !(st.type === TypeUrl.Cluster && inUse.has(n))) removed.push(n);
  }
  if (changed.length === 0 && removed.length === 0 && !st.mustRespond) return undefined;
  return { resources: changed, removed };
}

/**
 * What a stream sends for one type, given its subscription, what it holds and the snapshot:
 * state of the world (full sets for LDS/CDS, changed resources for EDS/RDS) or incremental
 * (changed resources plus removed names, for every type). Pure functions; the connection sends.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Resource } from '../generate/resource.ts';
import { mapDiff } from '../snapshot/map-diff.ts';
import { isCompleteType, type TypeState } from './subscription.ts';

export interface Plan {
  readonly resources: readonly Resource[];
  /** Names the client must drop (incremental only). */
  readonly removed: readonly string[];
}

/**
 * Clusters (or their load assignments) the client's current listeners and routes name but the
 * snapshot no longer has, each with its resource as of the snapshot those listeners and routes
 * were sent from (undefined when unknown).
 */
export type InUse = ReadonlyMap<string, Resource | undefined>;

/** Whether a complete type's `desired` set is not what the client was last sent (or must be answered). */
function differs(st: TypeState, desired: ReadonlyMap<string, Resource>): boolean {
  if (st.mustRespond || desired.size !== st.sent.size) return true;
  for (const r of desired.values()) if (st.sent.get(r.name)?.hash !== r.hash) return true;
  return false;
}

/** The resources of a snapshot's map as one list, made once for every stream that sends it. */
const lists = new WeakMap<ReadonlyMap<string, Resource>, readonly Resource[]>();

function valuesOf(all: ReadonlyMap<string, Resource>): readonly Resource[] {
  let list = lists.get(all);
  if (list === undefined) {
    list = [...all.values()];
    lists.set(all, list);
  }
  return list;
}

/** What a client holding nothing for `name` gets for an in-use resource the snapshot dropped. */
function fallback(st: TypeState, inUse: InUse, name: string): Resource | undefined {
  return st.sent.get(name) ?? inUse.get(name);
}

/**
 * State of the world. `inUse`: CDS keeps sending those clusters (as the client has them, or as
 * they were when the routes naming them were sent) until those listeners and routes are
 * replaced, and EDS sends their load assignments to a client that subscribes to them late (a
 * proxyless client asks for a cluster only once a route names it).
 *
 * A client subscribed to clusters by name keeps every one it was sent for as long as it asks for
 * it: such a client (gRPC) still holds a cluster while calls on an older route are in flight,
 * and @grpc/grpc-js-xds, once told a cluster does not exist, ignores it coming back unchanged
 * (it keeps the old value cached), so the cluster would stay failed for good.
 */
export function planSotw(
  st: TypeState,
  all: ReadonlyMap<string, Resource>,
  inUse: InUse,
): Plan | undefined {
  if (!isCompleteType(st.type)) {
    const out: Resource[] = [];
    for (const n of st.names) {
      const r = all.get(n) ?? (st.sent.has(n) ? undefined : inUse.get(n));
      if (r && (st.mustRespond || st.sent.get(n)?.hash !== r.hash)) out.push(r);
    }
    return out.length > 0 || st.mustRespond ? { resources: out, removed: [] } : undefined;
  }
  const isCluster = st.type === TypeUrl.Cluster;
  if (st.wildcard && (!isCluster || inUse.size === 0)) {
    // The whole snapshot map: no copy of it per stream, and one list shared by every stream.
    return differs(st, all) ? { resources: valuesOf(all), removed: [] } : undefined;
  }
  const desired = new Map<string, Resource>();
  if (st.wildcard) for (const r of all.values()) desired.set(r.name, r);
  else {
    for (const n of st.names) {
      const r = all.get(n) ?? (isCluster ? fallback(st, inUse, n) : undefined);
      if (r) desired.set(n, r);
    }
  }
  if (isCluster) {
    for (const c of inUse.keys()) {
      const held = fallback(st, inUse, c);
      if (held && !desired.has(c) && st.wants(c)) desired.set(c, held);
    }
  }
  return differs(st, desired) ? { resources: [...desired.values()], removed: [] } : undefined;
}

/** Incremental: what changed among the subscribed resources, and what the client must drop. */
export function planDelta(
  st: TypeState,
  all: ReadonlyMap<string, Resource>,
  inUse: InUse,
): Plan | undefined {
  const changed: Resource[] = [];
  const consider = (r: Resource) => {
    if (st.sent.get(r.name)?.hash !== r.hash) changed.push(r);
  };
  if (st.wildcard) for (const r of all.values()) consider(r);
  else {
    for (const n of st.names) {
      const r = all.get(n) ?? (st.sent.has(n) ? undefined : inUse.get(n));
      if (r) consider(r);
    }
  }
  const removed: string[] = [];
  // As in state of the world: a cluster subscribed to by name stays while it is asked for.
  const kept = (n: string) =>
    inUse.has(n) || (st.type === TypeUrl.Cluster && !st.wildcard && st.names.has(n));
  for (const n of st.sent.keys()) {
    if (!all.has(n) && !kept(n)) removed.push(n);
  }
  if (changed.length === 0 && removed.length === 0 && !st.mustRespond) return undefined;
  return { resources: changed, removed };
}

/**
 * The plan for `all` when the last plan of this type left nothing to send for `previous` and
 * nothing the plan reads has changed since (same subscription, same sent resources and, for
 * clusters, the same listeners and routes held): only the resources that differ between the two
 * can need sending, so a one-endpoint change costs each stream one lookup, not one per resource.
 * Undefined `result` when it cannot tell (a resource was removed; a complete type whose
 * subscribed resources changed must be sent whole): plan in full.
 */
export function planFromPrevious(
  st: TypeState,
  previous: ReadonlyMap<string, Resource>,
  all: ReadonlyMap<string, Resource>,
  mode: 'sotw' | 'delta',
): { readonly result: Plan | undefined } | undefined {
  if (st.mustRespond) return undefined;
  if (previous === all) return { result: undefined };
  const d = mapDiff(previous, all);
  if (d.removed > 0) return undefined;
  const out: Resource[] = [];
  for (const n of d.changed) {
    const r = all.get(n);
    if (r && st.wants(n) && st.sent.get(n)?.hash !== r.hash) out.push(r);
  }
  if (out.length === 0) return { result: undefined };
  if (mode === 'sotw' && isCompleteType(st.type)) return undefined;
  return { result: { resources: out, removed: [] } };
}

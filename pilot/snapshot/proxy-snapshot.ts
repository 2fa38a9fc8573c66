/**
 * A proxy's snapshot: every resource it may ask for, by type and name, from one mesh build. It is
 * immutable and checked before anyone sees it (go-control-plane's `Consistent()`): no name twice
 * in a type, every listener's route configuration present, every cluster a listener or route
 * names present, every EDS cluster's load assignment present. An inconsistent snapshot is never
 * sent; the proxy keeps its last good one.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { TypeUrl, XdsTypeOrder, XdsTypeShort, type XdsType } from '../../lib/xds/type-urls.ts';
import type { Proxy } from '../model/proxy.ts';
import type { Resource } from '../generate/resource.ts';
import { generators } from './generators.ts';
import { mapDiff } from './map-diff.ts';
import type { MeshBuild } from './mesh-build.ts';

export interface ProxySnapshot {
  /** The mesh build it came from. */
  readonly version: number;
  /** When the oldest change it includes happened (for convergence time). */
  readonly changedAt: number;
  readonly resources: ReadonlyMap<XdsType, ReadonlyMap<string, Resource>>;
}

const noResources: ReadonlyMap<string, Resource> = new Map();

/** Maps of generated lists shared by several proxies (every sidecar's load assignments). */
const mapsOf = new WeakMap<readonly Resource[], ReadonlyMap<string, Resource>>();

function byNameOf(
  list: readonly Resource[],
  type: XdsType,
  proxy: Proxy,
): ReadonlyMap<string, Resource> {
  const hit = mapsOf.get(list);
  if (hit) return hit;
  const byName = new Map<string, Resource>();
  for (const r of list) {
    if (byName.has(r.name)) {
      throw new IstioLiteError(
        ErrorCode.Internal,
        `${XdsTypeShort[type]} resource "${r.name}" generated twice for ${proxy.id}`,
      );
    }
    byName.set(r.name, r);
  }
  mapsOf.set(list, byName);
  return byName;
}

/** Whether `list` holds exactly the resources of `map` (the same objects). */
function sameResources(
  list: readonly Resource[],
  map: ReadonlyMap<string, Resource> | undefined,
): boolean {
  return map !== undefined && list.length === map.size && list.every((r) => map.get(r.name) === r);
}

/**
 * `previous`: this proxy's snapshot from the last build (or one of a proxy that gets the same);
 * a type whose resources are all the same objects keeps its map, so streams see at once that
 * nothing of that type changed, and what did change is found once per pair of maps (plan.ts).
 */
export function buildProxySnapshot(
  build: MeshBuild,
  proxy: Proxy,
  previous?: ProxySnapshot,
): ProxySnapshot {
  const set = generators[proxy.kind];
  const resources = new Map<XdsType, ReadonlyMap<string, Resource>>();
  for (const type of XdsTypeOrder) {
    const list = set[type](build, proxy);
    const before = previous?.resources.get(type);
    resources.set(
      type,
      before && sameResources(list, before) ? before : byNameOf(list, type, proxy),
    );
  }
  const snap: ProxySnapshot = { version: build.version, changedAt: build.changedAt, resources };
  const problems = inconsistencies(snap, previous);
  if (problems.length > 0) {
    throw new IstioLiteError(
      ErrorCode.Internal,
      `inconsistent snapshot ${build.version} for ${proxy.id}: ${problems.slice(0, 5).join('; ')}`,
    );
  }
  return snap;
}

/**
 * What is missing in a snapshot; empty when it is consistent. With the consistent snapshot it
 * was built after, and nothing removed since, only what was added or changed is checked: what
 * the rest names is still there.
 */
export function inconsistencies(snap: ProxySnapshot, previous?: ProxySnapshot): string[] {
  const get = (s: ProxySnapshot, t: XdsType) => s.resources.get(t) ?? noResources;
  let changedOnly: ((t: XdsType) => Iterable<Resource>) | undefined;
  if (previous) {
    const diffs = new Map(XdsTypeOrder.map((t) => [t, mapDiff(get(previous, t), get(snap, t))]));
    if ([...diffs.values()].every((d) => d.removed === 0)) {
      changedOnly = (t) => {
        const all = get(snap, t);
        return (diffs.get(t)?.changed ?? []).flatMap((n) => all.get(n) ?? []);
      };
    }
  }
  const of = changedOnly ?? ((t: XdsType) => get(snap, t).values());
  const clusters = get(snap, TypeUrl.Cluster);
  const endpoints = get(snap, TypeUrl.ClusterLoadAssignment);
  const routes = get(snap, TypeUrl.RouteConfiguration);
  const out: string[] = [];
  for (const l of of(TypeUrl.Listener)) {
    for (const r of l.refs.routes) {
      if (!routes.has(r)) out.push(`listener ${l.name} uses missing route configuration ${r}`);
    }
    for (const c of l.refs.clusters) {
      if (!clusters.has(c)) out.push(`listener ${l.name} uses missing cluster ${c}`);
    }
  }
  for (const r of of(TypeUrl.RouteConfiguration)) {
    for (const c of r.refs.clusters) {
      if (!clusters.has(c)) out.push(`route configuration ${r.name} uses missing cluster ${c}`);
    }
  }
  for (const c of of(TypeUrl.Cluster)) {
    if (c.refs.eds && !endpoints.has(c.name)) out.push(`cluster ${c.name} has no load assignment`);
  }
  return out;
}

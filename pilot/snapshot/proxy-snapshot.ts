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
import type { MeshBuild } from './mesh-build.ts';

export interface ProxySnapshot {
  /** The mesh build it came from. */
  readonly version: number;
  /** When the oldest change it includes happened (for convergence time). */
  readonly changedAt: number;
  readonly resources: ReadonlyMap<XdsType, ReadonlyMap<string, Resource>>;
}

export function buildProxySnapshot(build: MeshBuild, proxy: Proxy): ProxySnapshot {
  const set = generators[proxy.kind];
  const resources = new Map<XdsType, ReadonlyMap<string, Resource>>();
  for (const type of XdsTypeOrder) {
    const byName = new Map<string, Resource>();
    for (const r of set[type](build, proxy)) {
      if (byName.has(r.name)) {
        throw new IstioLiteError(
          ErrorCode.Internal,
          `${XdsTypeShort[type]} resource "${r.name}" generated twice for ${proxy.id}`,
        );
      }
      byName.set(r.name, r);
    }
    resources.set(type, byName);
  }
  const snap: ProxySnapshot = { version: build.version, changedAt: build.changedAt, resources };
  const problems = inconsistencies(snap);
  if (problems.length > 0) {
    throw new IstioLiteError(
      ErrorCode.Internal,
      `inconsistent snapshot ${build.version} for ${proxy.id}: ${problems.slice(0, 5).join('; ')}`,
    );
  }
  return snap;
}

/** What is missing in a snapshot; empty when it is consistent. */
export function inconsistencies(snap: ProxySnapshot): string[] {
  const get = (t: XdsType) => snap.resources.get(t) ?? new Map<string, Resource>();
  const clusters = get(TypeUrl.Cluster);
  const endpoints = get(TypeUrl.ClusterLoadAssignment);
  const routes = get(TypeUrl.RouteConfiguration);
  const out: string[] = [];
  for (const l of get(TypeUrl.Listener).values()) {
    for (const r of l.refs.routes) {
      if (!routes.has(r)) out.push(`listener ${l.name} uses missing route configuration ${r}`);
    }
    for (const c of l.refs.clusters) {
      if (!clusters.has(c)) out.push(`listener ${l.name} uses missing cluster ${c}`);
    }
  }
  for (const r of routes.values()) {
    for (const c of r.refs.clusters) {
      if (!clusters.has(c)) out.push(`route configuration ${r.name} uses missing cluster ${c}`);
    }
  }
  for (const c of clusters.values()) {
    if (c.refs.eds && !endpoints.has(c.name)) out.push(`cluster ${c.name} has no load assignment`);
  }
  return out;
}

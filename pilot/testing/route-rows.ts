/**
 * Shared by the RouteRule table tests: the routes of one virtual host as a proxy gets them, every
 * resource of the snapshot checked the way its client would (Envoy's protos and rules, and
 * @grpc/grpc-js-xds's validation for proxyless clients).
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Proxy } from '../model/proxy.ts';
import {
  allResources,
  assertEnvoyAccepts,
  assertGrpcAccepts,
  at,
  resourceJson,
  type Json,
} from './resource-checks.ts';
import { crd, trafficSnapshot } from './traffic-fixture.ts';

/** The routes of `svc`'s virtual host as `proxy` gets them (sidecar RDS `<port>`, or proxyless). */
export function routesOf(
  objects: readonly object[],
  proxy: Proxy,
  svc: string,
  port: number,
): Json[] {
  const snap = trafficSnapshot(objects, proxy);
  for (const r of allResources(snap)) {
    assertEnvoyAccepts(r);
    if (proxy.kind === 'grpc') assertGrpcAccepts(r);
  }
  if (proxy.kind === 'grpc') {
    const rc = resourceJson(snap, TypeUrl.RouteConfiguration, `${svc}:${port}`);
    return at(rc, 'virtual_hosts', 0, 'routes') as Json[];
  }
  const rc = resourceJson(snap, TypeUrl.RouteConfiguration, String(port));
  const vh = (rc['virtual_hosts'] as Json[]).find((h) => h['name'] === `${svc}:${port}`);
  return vh?.['routes'] as Json[];
}

/** A RouteRule for `reviews` (the spec may name another destination). */
export function reviewsRule(name: string, spec: object): object {
  return crd('RouteRule', name, { destination: { name: 'reviews' }, ...spec });
}

export interface RouteRow {
  readonly name: string;
  readonly config: readonly object[];
  readonly proxy?: Proxy | undefined;
  /** Checked against the virtual host's routes (the default route is last). */
  readonly want: (routes: Json[]) => void;
}

/**
 * Endpoints (EDS): one ClusterLoadAssignment per service port, ready endpoints grouped by
 * locality. Every locality carries `locality` and a weight (the sum of its endpoints' weights):
 * proxyless gRPC rejects the first missing and skips localities without the second.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { ClusterLoadAssignment, LocalityLbEndpoints } from '../../lib/xds/types.ts';
import type { Endpoint, Service } from '../model/service.ts';
import { hasLabels } from '../config/model.ts';
import type { Subset } from '../traffic/traffic.ts';
import { TransportSocketMatchKey } from './clusters.ts';
import { outboundClusterName } from './names.ts';
import { makeResource, type Resource } from './resource.ts';

function localityKey(e: Endpoint): string {
  return `${e.locality.region}/${e.locality.zone}/${e.locality.subzone}`;
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}

/** The locality message, empty fields left out (a locality must be present even if empty). */
function locality(e: Endpoint | undefined): NonNullable<LocalityLbEndpoints['locality']> {
  const l = e?.locality;
  return {
    ...(l?.region ? { region: l.region } : {}),
    ...(l?.zone ? { zone: l.zone } : {}),
    ...(l?.subzone ? { sub_zone: l.subzone } : {}),
  };
}

export function loadAssignment(
  clusterName: string,
  eps: readonly Endpoint[],
): ClusterLoadAssignment {
  const groups = new Map<string, Endpoint[]>();
  const seen = new Set<string>();
  for (const e of eps) {
    if (!e.ready) continue;
    const addr = `${e.address}|${e.port}`;
    if (seen.has(addr)) continue;
    seen.add(addr);
    const key = localityKey(e);
    const g = groups.get(key);
    if (g) g.push(e);
    else groups.set(key, [e]);
  }
  const endpoints: LocalityLbEndpoints[] = [...groups.keys()].sort().map((key) => {
    const members = (groups.get(key) ?? []).sort(compareEndpoints);
    const first = members[0];
    return {
      locality: locality(first),
      lb_endpoints: members.map((e) => ({
        endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
        health_status: 'HEALTHY',
        load_balancing_weight: { value: e.weight },
        metadata: {
          filter_metadata: {
            [TransportSocketMatchKey]: { fields: { tlsMode: { stringValue: e.tlsMode } } },
          },
        },
      })),
      load_balancing_weight: { value: members.reduce((s, e) => s + e.weight, 0) },
    };
  });
  return { cluster_name: clusterName, endpoints };
}

/** The load assignments of one service: per proxied port, all endpoints and each version's. */
export function serviceLoadAssignments(
  svc: Service,
  eps: readonly Endpoint[],
  subsets: readonly Subset[] = [],
): Resource[] {
  const out: Resource[] = [];
  for (const p of svc.ports) {
    if (p.protocol === 'UDP') continue;
    const mine = eps.filter((e) => e.servicePortName === p.name);
    const name = outboundClusterName(p.port, svc.hostname);
    out.push(makeResource(TypeUrl.ClusterLoadAssignment, name, loadAssignment(name, mine)));
    for (const s of subsets) {
      const sub = outboundClusterName(p.port, svc.hostname, s.name);
      const some = mine.filter((e) => hasLabels(e.labels, s.labels));
      out.push(makeResource(TypeUrl.ClusterLoadAssignment, sub, loadAssignment(sub, some)));
    }
  }
  return out;
}

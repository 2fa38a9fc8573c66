/**
 * Everything generated for one service, kept from build to build while its service object,
 * endpoints and traffic (rules, subsets, policies) are the same objects: a one-endpoint change
 * re-encodes that service's load assignments and clusters, nothing else.
 */
import type { Endpoint, Service } from '../model/service.ts';
import { serviceClusters } from '../generate/clusters.ts';
import type { GenContext } from '../generate/context.ts';
import { serviceLoadAssignments } from '../generate/endpoints.ts';
import { grpcListeners } from '../generate/grpc.ts';
import type { Resource } from '../generate/resource.ts';
import type { HostTraffic } from '../traffic/traffic.ts';

export interface ServiceEntry {
  readonly svc: Service;
  readonly eps: readonly Endpoint[];
  readonly ctx: GenContext;
  readonly traffic: HostTraffic;
  /** Clusters for proxies no source-restricted policy applies to. */
  readonly sidecarClusters: readonly Resource[];
  readonly grpcClusters: readonly Resource[];
  readonly endpoints: readonly Resource[];
  readonly grpcListeners: readonly Resource[];
  /** Whether a rule or policy of this host applies to some sources only (views differ). */
  readonly sourced: boolean;
}

export function serviceEntry(
  old: ServiceEntry | undefined,
  svc: Service,
  eps: readonly Endpoint[],
  ctx: GenContext,
  traffic: HostTraffic,
): ServiceEntry {
  if (old && old.svc === svc && old.ctx === ctx && old.eps === eps && old.traffic === traffic) {
    return old;
  }
  const sourced =
    traffic.rules.some((r) => r.rule.source !== undefined) ||
    traffic.policies.some((p) => p.source !== undefined);
  const sameService = old !== undefined && old.svc === svc && old.ctx === ctx;
  const sameTraffic = sameService && old.traffic === traffic;
  return {
    svc,
    eps,
    ctx,
    traffic,
    sourced,
    // Endpoints feed clusters too (their peer identities) and subsets' load assignments.
    sidecarClusters: serviceClusters(ctx, svc, eps, false, traffic),
    // Proxyless clusters carry no peer identities: endpoints alone do not change them.
    grpcClusters: sameTraffic ? old.grpcClusters : serviceClusters(ctx, svc, eps, true, traffic),
    endpoints: serviceLoadAssignments(svc, eps, traffic.subsets),
    grpcListeners: sameService ? old.grpcListeners : grpcListeners(svc),
  };
}

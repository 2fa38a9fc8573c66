/**
 * What the applied EgressRules of a build come to: the clusters sidecars call external hosts
 * through, those the egress gateway needs for proxied rules, the virtual hosts per port, and the
 * ports the outbound listener must treat as HTTP.
 */
import type { EgressRule } from '../config/model.ts';
import type { GenContext } from '../generate/context.ts';
import { egressCluster, sidecarEgressHosts } from '../generate/egress.ts';
import { outboundClusterName } from '../generate/names.ts';
import type { EgressPorts } from '../generate/outbound-listener.ts';
import type { Resource } from '../generate/resource.ts';
import type { EgressHost } from '../generate/routes.ts';
import { isHttp } from '../model/protocol.ts';
import { isKubernetesService, type RegistryState, type Service } from '../model/service.ts';
import { emptyHostTraffic, noSourceView, policyFor, type Traffic } from '../traffic/traffic.ts';

export interface EgressSet {
  /** Clusters of rules sidecars call directly. */
  readonly sidecarClusters: readonly Resource[];
  /** Clusters of rules that go through the egress gateway. */
  readonly gatewayClusters: readonly Resource[];
  readonly proxied: readonly EgressRule[];
  readonly hostsByPort: ReadonlyMap<number, readonly EgressHost[]>;
  readonly ports: EgressPorts;
}

export const noEgress: EgressSet = {
  sidecarClusters: [],
  gatewayClusters: [],
  proxied: [],
  hostsByPort: new Map(),
  ports: { http: [], https: [] },
};

/** The egress gateway's service (by name, the first by hostname) and its HTTP port. */
export function egressGateway(
  state: RegistryState,
  name: string,
): { svc: Service; port: number } | undefined {
  const svc = [...state.services.values()]
    .filter((s) => s.name === name && isKubernetesService(s))
    .sort((a, b) => (a.hostname < b.hostname ? -1 : 1))[0];
  const port = svc?.ports.find((p) => isHttp(p.protocol))?.port;
  return svc && port !== undefined ? { svc, port } : undefined;
}

export function egressSet(
  ctx: GenContext,
  state: RegistryState,
  traffic: Traffic,
  gatewayName: string,
): EgressSet {
  if (traffic.egress.length === 0) return noEgress;
  const clusters = (rules: readonly EgressRule[]) =>
    rules.flatMap((r) =>
      r.ports.map((p) =>
        egressCluster(
          ctx,
          r,
          p,
          policyFor(traffic.hosts.get(r.host) ?? emptyHostTraffic, undefined, noSourceView),
        ),
      ),
    );
  const gw = egressGateway(state, gatewayName);
  const direct = traffic.egress.filter((r) => !r.useEgressProxy);
  const proxied = traffic.egress.filter((r) => r.useEgressProxy);
  const ports = traffic.egress.flatMap((r) => r.ports);
  return {
    sidecarClusters: clusters(direct),
    gatewayClusters: clusters(proxied),
    proxied,
    hostsByPort: sidecarEgressHosts(
      traffic.egress,
      gw ? outboundClusterName(gw.port, gw.svc.hostname) : undefined,
    ),
    ports: {
      http: [...new Set(ports.filter((p) => p.protocol !== 'HTTPS').map((p) => p.port))].sort(
        (a, b) => a - b,
      ),
      https: [...new Set(ports.filter((p) => p.protocol === 'HTTPS').map((p) => p.port))].sort(
        (a, b) => a - b,
      ),
    },
  };
}

/**
 * What a gateway (`router~` proxy) serves, told by the services its IP is an endpoint of: behind
 * the ingress service (mesh config `ingressService`, `istio-ingress`) it is the ingress gateway
 * and listens on that service's HTTP and HTTPS target ports; behind `istio-egress` it is the
 * egress gateway and listens on its HTTP target port for proxied EgressRules. A gateway behind
 * neither gets clusters and endpoints only. Both get Mixer's filters when the mesh has Mixer
 * (generate/mixer.ts).
 */
import type { Proxy } from '../model/proxy.ts';
import { isHttp, type Protocol } from '../model/protocol.ts';
import { isKubernetesService, type RegistryState } from '../model/service.ts';
import { egressGatewayListener, egressGatewayRoutes } from '../generate/egress.ts';
import { ingressListeners, ingressRouteConfig, type GatewayPort } from '../generate/ingress.ts';
import { noMixer, type MixerFilters } from '../generate/mixer.ts';
import type { Resource } from '../generate/resource.ts';
import type { HcmTracing } from '../generate/tracing.ts';
import type { Traffic } from '../traffic/traffic.ts';
import type { EgressSet } from './egress-set.ts';

export interface GatewayPorts {
  /** Ingress listener ports (empty: not an ingress gateway). */
  readonly ingress: readonly GatewayPort[];
  /** The egress listener port, when the proxy is an egress gateway. */
  readonly egress: number | undefined;
}

export interface GatewayResources {
  readonly clusters: readonly Resource[];
  readonly listeners: readonly Resource[];
  readonly routes: readonly Resource[];
}

/** The target ports at the proxy's IP of the services named `name`, with their protocols. */
function portsAt(
  state: RegistryState,
  ip: string,
  name: string,
): { protocol: Protocol; port: number }[] {
  const out: { protocol: Protocol; port: number }[] = [];
  for (const svc of state.services.values()) {
    // The gateways run in Kubernetes: a Consul service named istio-ingress is not one.
    if (svc.name !== name || !isKubernetesService(svc)) continue;
    for (const e of state.endpoints.get(svc.hostname) ?? []) {
      if (e.address !== ip) continue;
      const sp = svc.ports.find((p) => p.name === e.servicePortName);
      if (sp) out.push({ protocol: sp.protocol, port: e.port });
    }
  }
  return out.sort((a, b) => a.port - b.port);
}

export function gatewayPorts(
  state: RegistryState,
  proxy: Proxy,
  ingressService: string,
  egressService: string,
): GatewayPorts {
  if (proxy.ip === undefined) return { ingress: [], egress: undefined };
  const ingress: GatewayPort[] = [];
  const seen = new Set<number>();
  for (const p of portsAt(state, proxy.ip, ingressService)) {
    if (seen.has(p.port)) continue;
    if (p.protocol === 'HTTPS') ingress.push({ port: p.port, tls: true });
    else if (isHttp(p.protocol)) ingress.push({ port: p.port, tls: false });
    else continue;
    seen.add(p.port);
  }
  const egress = portsAt(state, proxy.ip, egressService).find((p) => isHttp(p.protocol))?.port;
  return { ingress, egress };
}

export function gatewayKey(p: GatewayPorts): string {
  const ingress = p.ingress.map((x) => `${x.port}${x.tls ? 's' : ''}`).join(',');
  return `i:${ingress};e:${p.egress ?? ''}`;
}

export function gatewayResources(
  ports: GatewayPorts,
  traffic: Traffic,
  services: RegistryState['services'],
  egress: EgressSet,
  tracing?: HcmTracing,
  mixer: MixerFilters = noMixer,
): GatewayResources {
  const clusters: Resource[] = [];
  const listeners: Resource[] = [];
  const routes: Resource[] = [];
  if (ports.ingress.length > 0 && traffic.ingresses.length > 0) {
    const l = ingressListeners(ports.ingress, traffic.ingresses, tracing, mixer);
    if (l.length > 0) {
      listeners.push(...l);
      routes.push(ingressRouteConfig(traffic.ingresses, services, traffic, mixer));
    }
  }
  if (ports.egress !== undefined && egress.proxied.length > 0) {
    listeners.push(egressGatewayListener(ports.egress, tracing, mixer));
    routes.push(egressGatewayRoutes(egress.proxied, mixer));
    clusters.push(...egress.gatewayClusters);
  }
  return { clusters, listeners, routes };
}

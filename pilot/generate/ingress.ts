/**
 * Kubernetes Ingresses of class `istio` on the ingress gateway (`router~` proxies behind the
 * ingress service): one route configuration `ingress` with a virtual host per Ingress host (`*`
 * for rules without one), its paths to service clusters, and the default backend last; an HTTP
 * listener on each HTTP port the gateway serves, and on each HTTPS port a TLS listener with one
 * filter chain per Ingress TLS entry, matched by SNI, its certificate fetched over SDS as
 * `kubernetes://<namespace>/<secretName>` (Pilot never reads Secrets; the gateway's agent does).
 *
 * Paths: Exact is an exact path; Prefix matches whole path segments (`/api` matches `/api` and
 * `/api/x`, not `/apix`); ImplementationSpecific is a plain prefix (a trailing `*` or `.*`, as
 * 0.2's examples wrote, is dropped). Exact paths come first, then longer prefixes.
 *
 * RouteRules of a backend apply to traffic entering through the Ingress, as in 0.2: each path gets
 * the backend's rules first (weighted subsets, header matches, timeouts, retries, faults,
 * redirects, rewrites), each also required to match the Ingress path, then the path's own route.
 * A rule's `uri` match becomes a `:path` header match (its query string allowed), since the path
 * specifier is the Ingress's. Rules with a `source` selector never apply here: the gateway is not
 * a workload they name.
 *
 * Mixer (mesh `mixerCheckServer` / `mixerReportServer`): the gateway checks every request
 * (ext_authz, each route carrying its backend as `destination.service`) and reports it (an access
 * log), as the client of what it forwards: `context.reporter.kind` `outbound` (see mixer.ts).
 */
import { AgentHttpExtAuthzName, agentExtAuthzPerRoute } from '../../lib/xds/agent-filters.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { toAny } from '../../lib/xds/protos.ts';
import type {
  DownstreamTlsContext,
  Filter,
  FilterChain,
  HeaderMatcher,
  Listener,
  Route,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
} from '../../lib/xds/types.ts';
import { configKey, type Ingress, type IngressBackend, type IngressPath } from '../config/model.ts';
import type { RegistryState } from '../model/service.ts';
import { emptyHostTraffic, noSourceView, type Traffic } from '../traffic/traffic.ts';
import { duration, httpConnectionManager, tlsInspectorFilter } from './filters.ts';
import { noMixer, reporter, type MixerFilters } from './mixer.ts';
import { outboundClusterName } from './names.ts';
import { makeResource, type Resource } from './resource.ts';
import { clusterForTarget } from './routes.ts';
import { routeClusters, ruleRoutes } from './rule-routes.ts';
import { sdsConfig } from './tls.ts';
import type { HcmTracing } from './tracing.ts';

export const IngressRouteName = 'ingress';

/** A port the ingress gateway listens on, and whether it terminates TLS there. */
export interface GatewayPort {
  readonly port: number;
  readonly tls: boolean;
}

/** The SDS name of an Ingress TLS Secret (served by the gateway's agent). */
export function ingressSecretName(namespace: string, secretName: string): string {
  return `kubernetes://${namespace}/${secretName}`;
}

function portOf(services: RegistryState['services'], b: IngressBackend): number {
  if (typeof b.port === 'number') return b.port;
  return services.get(b.host)?.ports.find((p) => p.name === b.port)?.port ?? 0;
}

function clusterOf(services: RegistryState['services'], b: IngressBackend): string {
  return outboundClusterName(portOf(services, b), b.host);
}

/** A route with the ext_authz context the gateway checks it with: who checks, and the backend. */
function withCheckContext(mixer: MixerFilters, backend: string, route: Route): Route {
  if (!mixer.check) return route;
  return {
    ...route,
    typed_per_filter_config: {
      ...route.typed_per_filter_config,
      [AgentHttpExtAuthzName]: agentExtAuthzPerRoute(
        reporter('outbound', { 'destination.service': backend }),
      ),
    },
  };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A rule's path match as a `:path` header matcher (the path specifier is the Ingress's). */
function pathHeader(m: RouteMatch | null | undefined): HeaderMatcher | undefined {
  const query = '(\\?.*)?$';
  const regex = (r: string): HeaderMatcher => ({
    name: ':path',
    string_match: { safe_regex: { regex: r } },
  });
  if (typeof m?.path === 'string') return regex(`^${escapeRe(m.path)}${query}`);
  const re = m?.safe_regex?.regex;
  if (typeof re === 'string') return regex(`^(?:${re})${query}`);
  const prefix = m?.prefix;
  if (typeof prefix === 'string' && prefix !== '/' && prefix !== '') {
    return { name: ':path', string_match: { prefix } };
  }
  return undefined;
}

/** The backend's RouteRules for one Ingress path, each narrowed to that path. */
function backendRuleRoutes(
  p: IngressPath,
  from: string,
  traffic: Traffic,
  services: RegistryState['services'],
  mixer: MixerFilters,
): Route[] {
  const rules = (traffic.hosts.get(p.backend.host) ?? emptyHostTraffic).rules;
  if (rules.length === 0) return [];
  const port = portOf(services, p.backend);
  const routes = ruleRoutes(rules, {
    flavor: 'envoy',
    view: noSourceView,
    clusterFor: clusterForTarget(services, p.backend.host, port),
    defaultCluster: clusterOf(services, p.backend),
  });
  return routes.map((r) => {
    const uri = pathHeader(r.match);
    const headers = [...(r.match?.headers ?? []), ...(uri ? [uri] : [])];
    return withCheckContext(mixer, p.backend.host, {
      ...r,
      name: `${from}/${r.name ?? ''}`,
      match: { ...pathMatch(p), ...(headers.length > 0 ? { headers } : {}) },
    });
  });
}

function pathMatch(p: IngressPath): RouteMatch {
  switch (p.pathType) {
    case 'Exact':
      return { path: p.path };
    case 'Prefix':
      return p.path.endsWith('/') ? { prefix: p.path } : { path_separated_prefix: p.path };
    case 'ImplementationSpecific':
      return { prefix: p.path.replace(/\.?\*$/, '') || '/' };
  }
}

function order(a: IngressPath, b: IngressPath): number {
  const exact = (p: IngressPath) => (p.pathType === 'Exact' ? 0 : 1);
  return exact(a) - exact(b) || b.path.length - a.path.length;
}

/** The gateway's route configuration for every applied Ingress. */
export function ingressRouteConfig(
  ingresses: readonly Ingress[],
  services: RegistryState['services'],
  traffic: Traffic,
  mixer: MixerFilters = noMixer,
): Resource {
  const paths = new Map<string, { path: IngressPath; from: string }[]>();
  let fallback: IngressBackend | undefined;
  for (const ing of ingresses) {
    fallback ??= ing.defaultBackend;
    for (const rule of ing.rules) {
      const host = rule.host ?? '*';
      const list = paths.get(host) ?? [];
      for (const p of rule.paths) list.push({ path: p, from: configKey(ing.meta) });
      paths.set(host, list);
    }
  }
  if (fallback && !paths.has('*')) paths.set('*', []);
  const last: Route[] = fallback
    ? [
        withCheckContext(mixer, fallback.host, {
          name: 'default-backend',
          match: { prefix: '/' },
          route: { cluster: clusterOf(services, fallback), timeout: duration(0) },
        }),
      ]
    : [];
  const hosts: VirtualHost[] = [...paths]
    .sort(([a], [b]) => (a === '*' ? 1 : b === '*' ? -1 : a < b ? -1 : 1))
    .map(([host, list]) => ({
      name: host,
      domains: [host],
      routes: [
        ...[...list]
          .sort((a, b) => order(a.path, b.path))
          .flatMap(({ path, from }): Route[] => [
            ...backendRuleRoutes(path, from, traffic, services, mixer),
            withCheckContext(mixer, path.backend.host, {
              name: from,
              match: pathMatch(path),
              route: { cluster: clusterOf(services, path.backend), timeout: duration(0) },
            }),
          ]),
        ...last,
      ],
    }));
  const rc: RouteConfiguration = {
    name: IngressRouteName,
    virtual_hosts: hosts,
    validate_clusters: { value: false },
  };
  const clusters = [...new Set(hosts.flatMap((h) => routeClusters(h.routes ?? [])))];
  return makeResource(TypeUrl.RouteConfiguration, IngressRouteName, rc, { clusters });
}

function hcm(port: number, tracing: HcmTracing | undefined, mixer: MixerFilters): Filter[] {
  const m = {
    ...httpConnectionManager({
      statPrefix: `ingress_${port}`,
      routes: { rds: IngressRouteName },
      // Backends' RouteRules may inject faults.
      faults: true,
      check: mixer.check,
      accessLog: mixer.report ? reporter('outbound') : undefined,
      tracing,
    }),
    // Hosts are matched without the port clients put in Host.
    strip_any_host_port: true,
  };
  return [
    {
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: toAny(TypeUrl.HttpConnectionManager, m),
    },
  ];
}

function tlsChains(
  ingresses: readonly Ingress[],
  port: number,
  tracing: HcmTracing | undefined,
  mixer: MixerFilters,
): FilterChain[] {
  // A name (or "any name", for an entry without hosts) is served by the first entry claiming it.
  const taken = new Set<string>();
  const chains: FilterChain[] = [];
  for (const ing of ingresses) {
    for (const t of ing.tls) {
      const names = t.hosts.length > 0 ? t.hosts.filter((h) => !taken.has(h)) : ['*'];
      if (names.length === 0 || (names[0] === '*' && taken.has('*'))) continue;
      for (const n of names) taken.add(n);
      const ctx: DownstreamTlsContext = {
        common_tls_context: {
          tls_certificate_sds_secret_configs: [
            { name: ingressSecretName(ing.meta.namespace, t.secretName), sds_config: sdsConfig() },
          ],
          alpn_protocols: ['h2', 'http/1.1'],
        },
      };
      chains.push({
        name: `${configKey(ing.meta)}/${t.secretName}`,
        filter_chain_match: names[0] === '*' ? {} : { server_names: names },
        filters: hcm(port, tracing, mixer),
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: toAny(TypeUrl.DownstreamTlsContext, ctx),
        },
      });
    }
  }
  return chains;
}

/** The gateway's listeners: HTTP ports, and HTTPS ports when some Ingress has TLS. */
export function ingressListeners(
  ports: readonly GatewayPort[],
  ingresses: readonly Ingress[],
  tracing?: HcmTracing,
  mixer: MixerFilters = noMixer,
): Resource[] {
  const out: Resource[] = [];
  for (const p of ports) {
    const name = `ingress_${p.port}`;
    const chains = p.tls
      ? tlsChains(ingresses, p.port, tracing, mixer)
      : [{ name, filters: hcm(p.port, tracing, mixer) }];
    if (chains.length === 0) continue;
    const l: Listener = {
      name,
      address: { socket_address: { address: '0.0.0.0', port_value: p.port } },
      traffic_direction: 'INBOUND',
      ...(p.tls ? { listener_filters: [tlsInspectorFilter()] } : {}),
      filter_chains: chains,
    };
    out.push(makeResource(TypeUrl.Listener, name, l, { routes: [IngressRouteName] }));
  }
  return out;
}

/**
 * Config + registry → Traffic. A rule that is valid but cannot be applied (a destination that
 * does not exist, labels no pod has, weights that do not sum to 100, a port the other service
 * lacks) is left out whole and reported; every other rule keeps working. Host entries equal to
 * the previous build's are reused, so generators can skip unchanged services.
 */
import { isHttp } from '../model/protocol.ts';
import { isKubernetesService, type RegistryState, type Service } from '../model/service.ts';
import {
  configKey,
  hasLabels,
  labelsText,
  type ConfigMeta,
  type ConfigProblem,
  type ConfigState,
  type DestinationPolicy,
  type EgressRule,
  type Ingress,
  type RouteRule,
  type WeightedDestination,
} from '../config/model.ts';
import {
  subsetOf,
  type AppliedRule,
  type HostTraffic,
  type RouteTarget,
  type Subset,
  type Traffic,
} from './traffic.ts';

export interface ResolveOptions {
  readonly state: RegistryState;
  readonly config: ConfigState;
  /** The service the egress gateway runs behind (`istio-egress`), by name. */
  readonly egressService: string;
  readonly previous: Traffic | undefined;
}

class Problems {
  readonly list: ConfigProblem[] = [];
  private readonly keys = new Set<string>();

  add(meta: ConfigMeta, reason: string, message: string): void {
    this.keys.add(configKey(meta));
    this.list.push({ meta, reason, message });
  }

  has(meta: ConfigMeta): boolean {
    return this.keys.has(configKey(meta));
  }
}

/** The port of `svc` a share of traffic for `port` goes to: the same number, or its one HTTP port. */
export function targetPort(svc: Service, port: number): number | undefined {
  if (svc.ports.some((p) => p.port === port)) return port;
  const http = svc.ports.filter((p) => isHttp(p.protocol));
  return http.length === 1 ? http[0]?.port : undefined;
}

function byPrecedence(a: RouteRule, b: RouteRule): number {
  if (a.precedence !== b.precedence) return b.precedence - a.precedence;
  if (a.meta.name !== b.meta.name) return a.meta.name < b.meta.name ? -1 : 1;
  return a.meta.namespace < b.meta.namespace ? -1 : a.meta.namespace > b.meta.namespace ? 1 : 0;
}

interface Builder {
  rules: AppliedRule[];
  subsets: Map<string, Subset>;
  policies: DestinationPolicy[];
}

export function resolveTraffic(o: ResolveOptions): Traffic {
  const { state, config } = o;
  const problems = new Problems();
  const hosts = new Map<string, Builder>();
  const entry = (host: string): Builder => {
    let b = hosts.get(host);
    if (!b) hosts.set(host, (b = { rules: [], subsets: new Map(), policies: [] }));
    return b;
  };

  const egress = resolveEgress(config.egressRules, state, o.egressService, problems);
  const egressHosts = new Set(egress.map((e) => e.host));
  const known = (host: string) => state.services.has(host) || egressHosts.has(host);
  /** The ports a destination's rules route on: its HTTP ports, or its EgressRule ports. */
  const routedPorts = (host: string): number[] => {
    const svc = state.services.get(host);
    if (svc) return svc.ports.filter((p) => isHttp(p.protocol)).map((p) => p.port);
    return egress.filter((e) => e.host === host).flatMap((e) => e.ports.map((p) => p.port));
  };

  for (const rule of [...config.routeRules].sort(byPrecedence)) {
    const m = rule.meta;
    if (!known(rule.destination)) {
      problems.add(
        m,
        'UnknownDestination',
        `destination ${rule.destination} is not a known service or EgressRule host`,
      );
      continue;
    }
    const dest = state.services.get(rule.destination);
    if (dest !== undefined && !dest.ports.some((p) => isHttp(p.protocol))) {
      problems.add(
        m,
        'NotHttp',
        `destination ${rule.destination} has no HTTP port (RouteRules route HTTP, HTTP/2 and gRPC)`,
      );
      continue;
    }
    const sum = rule.route.reduce((s, r) => s + r.weight, 0);
    if (rule.route.length > 0 && sum !== 100) {
      problems.add(m, 'WeightsNot100', `route weights sum to ${sum}, not 100`);
      continue;
    }
    const targets: RouteTarget[] = [];
    const subsets: [string, Subset][] = [];
    let problem: { reason: string; message: string } | undefined;
    for (const [i, r] of rule.route.entries()) {
      if (r.weight === 0) continue;
      problem = targetProblem(state, rule, r, `route[${i}]`, known, routedPorts);
      if (problem) break;
      const subset = Object.keys(r.labels).length > 0 ? subsetOf(r.labels) : undefined;
      if (subset) subsets.push([r.host, subset]);
      targets.push({ host: r.host, subset: subset?.name ?? '', weight: r.weight });
    }
    if (problem) {
      problems.add(m, problem.reason, problem.message);
      continue;
    }
    entry(rule.destination).rules.push({ rule, targets });
    for (const [host, s] of subsets) entry(host).subsets.set(s.name, s);
  }

  for (const p of config.destinationPolicies) {
    if (!known(p.destination)) {
      problems.add(
        p.meta,
        'UnknownDestination',
        `destination ${p.destination} is not a known service or EgressRule host`,
      );
      continue;
    }
    const n = Object.keys(p.destinationLabels).length;
    const routed = [...(hosts.get(p.destination)?.subsets.values() ?? [])].some((s) =>
      hasLabels(s.labels, p.destinationLabels),
    );
    if (n > 0 && !routed) {
      problems.add(
        p.meta,
        'NotRouted',
        `no RouteRule routes to ${labelsText(p.destinationLabels)} of ${p.destination} (a policy for a version applies to routed versions only)`,
      );
      continue;
    }
    entry(p.destination).policies.push(p);
  }

  const ingresses = resolveIngresses(config.ingresses, state, problems);
  for (const r of config.rejected) problems.add(r.meta, r.reason, r.message);

  const prev = o.previous?.hosts;
  const out = new Map<string, HostTraffic>();
  for (const [host, b] of [...hosts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const next: HostTraffic = {
      rules: b.rules,
      subsets: [...b.subsets.values()].sort((x, y) => (x.name < y.name ? -1 : 1)),
      policies: b.policies,
    };
    const old = prev?.get(host);
    out.set(host, old && JSON.stringify(old) === JSON.stringify(next) ? old : next);
  }
  const all: { meta: ConfigMeta }[] = [
    ...config.routeRules,
    ...config.destinationPolicies,
    ...config.egressRules,
    ...config.ingresses,
  ];
  const sourced = [...config.routeRules, ...config.destinationPolicies]
    .filter((x) => x.source !== undefined && !problems.has(x.meta))
    .map((x) => ({ meta: x.meta, source: x.source ?? { host: undefined, labels: {} } }));
  const traffic: Traffic = {
    hosts: out,
    egress,
    ingresses,
    problems: problems.list,
    applied: all.filter((x) => !problems.has(x.meta)).map((x) => x.meta),
    sourced,
  };
  return sameTraffic(o.previous, traffic) ? (o.previous ?? traffic) : traffic;
}

/** Whether nothing changed: then the previous object is kept, and caches keyed on it stay. */
function sameTraffic(a: Traffic | undefined, b: Traffic): boolean {
  if (a === undefined || a.hosts.size !== b.hosts.size) return false;
  for (const [host, t] of b.hosts) if (a.hosts.get(host) !== t) return false;
  const rest = (t: Traffic) =>
    JSON.stringify([t.egress, t.ingresses, t.problems, t.applied, t.sourced]);
  return rest(a) === rest(b);
}

/** Why a share of a rule cannot be applied, or undefined. */
function targetProblem(
  state: RegistryState,
  rule: RouteRule,
  r: WeightedDestination,
  field: string,
  known: (host: string) => boolean,
  routedPorts: (host: string) => readonly number[],
): { reason: string; message: string } | undefined {
  if (!known(r.host)) {
    return { reason: 'UnknownDestination', message: `${field}: ${r.host} is not a known service` };
  }
  const svc = state.services.get(r.host);
  if (svc === undefined && r.host !== rule.destination) {
    return {
      reason: 'NoMatchingPort',
      message: `${field}: ${r.host} is an external host; only its own rules route to it`,
    };
  }
  if (svc !== undefined && r.host !== rule.destination) {
    const missing = routedPorts(rule.destination).find((p) => targetPort(svc, p) === undefined);
    if (missing !== undefined) {
      return {
        reason: 'NoMatchingPort',
        message: `${field}: ${r.host} has no port ${missing} and not exactly one HTTP port`,
      };
    }
  }
  const eps = state.endpoints.get(r.host) ?? [];
  if (Object.keys(r.labels).length > 0 && !eps.some((e) => hasLabels(e.labels, r.labels))) {
    return {
      reason: 'NoMatchingPods',
      message: `${field}: no pod of ${r.host} has labels ${labelsText(r.labels)}`,
    };
  }
  return undefined;
}

function resolveEgress(
  rules: readonly EgressRule[],
  state: RegistryState,
  egressService: string,
  problems: Problems,
): EgressRule[] {
  const claimed = new Map<string, ConfigMeta>();
  const hasGateway = [...state.services.values()].some(
    (s) => s.name === egressService && isKubernetesService(s),
  );
  const out: EgressRule[] = [];
  for (const r of rules) {
    if (state.services.has(r.host)) {
      problems.add(
        r.meta,
        'ConflictsWithService',
        `${r.host} is a service in the mesh, not an external host`,
      );
      continue;
    }
    const taken = r.ports
      .map((p) => [p.port, claimed.get(`${r.host}:${p.port}`)] as const)
      .find(([, by]) => by);
    if (taken) {
      const [port, by] = taken;
      problems.add(
        r.meta,
        'Conflict',
        `port ${port} of ${r.host} is already declared by EgressRule ${by?.namespace ?? ''}/${by?.name ?? ''}`,
      );
      continue;
    }
    if (r.useEgressProxy && !hasGateway) {
      problems.add(
        r.meta,
        'NoEgressGateway',
        `useEgressProxy: no service named ${egressService} (the egress gateway) in the mesh`,
      );
      continue;
    }
    for (const p of r.ports) claimed.set(`${r.host}:${p.port}`, r.meta);
    out.push(r);
  }
  return out;
}

function resolveIngresses(
  list: readonly Ingress[],
  state: RegistryState,
  problems: Problems,
): Ingress[] {
  const out: Ingress[] = [];
  for (const ing of list) {
    const backends = [
      ...(ing.defaultBackend ? [ing.defaultBackend] : []),
      ...ing.rules.flatMap((r) => r.paths.map((p) => p.backend)),
    ];
    let ok = true;
    for (const b of backends) {
      const svc = state.services.get(b.host);
      if (svc === undefined) {
        problems.add(ing.meta, 'UnknownBackend', `backend ${b.host} is not a known service`);
        ok = false;
        break;
      }
      const found =
        typeof b.port === 'number'
          ? svc.ports.some((p) => p.port === b.port)
          : svc.ports.some((p) => p.name === b.port);
      if (!found) {
        problems.add(ing.meta, 'NoMatchingPort', `backend ${b.host} has no port ${String(b.port)}`);
        ok = false;
        break;
      }
    }
    if (ok) out.push(ing);
  }
  return out;
}

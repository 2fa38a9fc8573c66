/**
 * RouteRules to Envoy routes, one route per rule, in precedence order, before the destination's
 * default route:
 * - match: `uri` → path / prefix / safe_regex; `scheme`, `method`, `authority` → the `:scheme`,
 *   `:method`, `:authority` pseudo-headers; other headers by name (exact, prefix, regex).
 * - route[] → one cluster, or weighted clusters (`outbound|<port>|<subset>|<host>`);
 *   redirect → a 302 with path and/or host swapped; rewrite → prefix (or whole path) and host.
 * - httpReqTimeout → route timeout (0 otherwise, so streams live); httpReqRetries → retry policy;
 *   httpFault → per-route config of the fault filter; websocketUpgrade → upgrade enabled.
 *
 * Proxyless gRPC (flavor `grpc`) NACKs redirects, ignores path rewrites, takes its deadline from
 * `max_stream_duration` and retries on gRPC status codes; rules that redirect are left out of its
 * routes (noted in /debug/configz) and the rest is translated to what it understands.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { createHash } from 'node:crypto';
import { toAny, type EncodedAny } from '../../lib/xds/protos.ts';
import type { HTTPFault, HeaderMatcher, Route, RouteMatch } from '../../lib/xds/types.ts';
import type { HttpFault, RouteRule, StringMatch } from '../config/model.ts';
import { configKey } from '../config/model.ts';
import {
  appliesTo,
  type AppliedRule,
  type RouteTarget,
  type SourceView,
} from '../traffic/traffic.ts';
import { duration } from './filters.ts';
import { FaultFilterName } from './names.ts';

export type RouteFlavor = 'envoy' | 'grpc';

/** Retried by sidecars: 0.2's HTTP conditions plus the gRPC statuses worth another try. */
const envoyRetryOn = '5xx,connect-failure,refused-stream,unavailable,cancelled,resource-exhausted';
const grpcRetryOn = 'unavailable,cancelled,resource-exhausted';

const pseudoHeaders: Readonly<Record<string, string>> = {
  scheme: ':scheme',
  method: ':method',
  authority: ':authority',
};

function stringMatcher(m: StringMatch): NonNullable<HeaderMatcher['string_match']> {
  switch (m.type) {
    case 'exact':
      return { exact: m.value };
    case 'prefix':
      return { prefix: m.value };
    case 'regex':
      return { safe_regex: { regex: m.value } };
  }
}

export function routeMatch(rule: RouteRule, flavor: RouteFlavor): RouteMatch {
  const uri = rule.headers.find((h) => h.name === 'uri')?.match;
  const path: RouteMatch =
    uri === undefined
      ? { prefix: flavor === 'grpc' ? '' : '/' }
      : uri.type === 'exact'
        ? { path: uri.value }
        : uri.type === 'prefix'
          ? { prefix: uri.value }
          : { safe_regex: { regex: uri.value } };
  const headers = rule.headers
    .filter((h) => h.name !== 'uri')
    .map((h) => ({ name: pseudoHeaders[h.name] ?? h.name, string_match: stringMatcher(h.match) }));
  return headers.length > 0 ? { ...path, headers } : path;
}

function fraction(percent: number): { numerator: number; denominator: 'MILLION' } {
  return { numerator: Math.round(percent * 10_000), denominator: 'MILLION' };
}

export function faultConfig(f: HttpFault): HTTPFault {
  return {
    ...(f.delay
      ? {
          delay: {
            fixed_delay: duration(f.delay.fixedDelayMs),
            percentage: fraction(f.delay.percent),
          },
        }
      : {}),
    ...(f.abort
      ? { abort: { http_status: f.abort.httpStatus, percentage: fraction(f.abort.percent) } }
      : {}),
  };
}

export interface RuleRouteOptions {
  readonly flavor: RouteFlavor;
  readonly view: SourceView;
  /** The cluster a share goes to on this port. */
  readonly clusterFor: (t: RouteTarget) => string;
  /** The destination's cluster for all its endpoints on this port. */
  readonly defaultCluster: string;
}

function action(a: AppliedRule, o: RuleRouteOptions): Route {
  const { rule } = a;
  const grpc = o.flavor === 'grpc';
  const targets = a.targets.length > 0 ? a.targets : undefined;
  const single = targets?.length === 1 ? targets[0] : undefined;
  const clusters =
    targets === undefined
      ? { cluster: o.defaultCluster }
      : single !== undefined
        ? { cluster: o.clusterFor(single) }
        : {
            weighted_clusters: {
              clusters: targets.map((t) => ({
                name: o.clusterFor(t),
                weight: { value: t.weight },
              })),
            },
          };
  const timeout = rule.timeoutMs;
  const retries =
    rule.retries !== undefined && rule.retries.attempts > 0 ? rule.retries : undefined;
  if (grpc) {
    return {
      route: {
        ...clusters,
        ...(timeout !== undefined
          ? { max_stream_duration: { max_stream_duration: duration(timeout) } }
          : {}),
        ...(retries
          ? { retry_policy: { retry_on: grpcRetryOn, num_retries: { value: retries.attempts } } }
          : {}),
      },
    };
  }
  const uri = rule.headers.find((h) => h.name === 'uri')?.match;
  const rw = rule.rewrite;
  const rewrite =
    rw?.uri === undefined
      ? {}
      : uri?.type === 'regex'
        ? { regex_rewrite: { pattern: { regex: '^.*$' }, substitution: rw.uri } }
        : { prefix_rewrite: rw.uri };
  return {
    route: {
      ...clusters,
      timeout: duration(timeout ?? 0),
      ...(retries
        ? {
            retry_policy: {
              retry_on: envoyRetryOn,
              num_retries: { value: retries.attempts },
              ...(retries.perTryTimeoutMs !== undefined
                ? { per_try_timeout: duration(retries.perTryTimeoutMs) }
                : {}),
            },
          }
        : {}),
      ...rewrite,
      ...(rw?.authority !== undefined ? { host_rewrite_literal: rw.authority } : {}),
      ...(rule.websocketUpgrade
        ? { upgrade_configs: [{ upgrade_type: 'websocket', enabled: { value: true } }] }
        : {}),
    },
  };
}

/**
 * The route's name: the rule's key. For proxyless clients with a fault, also a digest of it:
 * @grpc/grpc-js-xds compares a new route configuration with the one it holds by walking the old
 * one's keys only, so a route that only gains a per-filter config looks unchanged and is ignored;
 * a different name makes the change visible.
 */
function routeName(rule: RouteRule, fault: EncodedAny | undefined, flavor: RouteFlavor): string {
  const key = configKey(rule.meta);
  if (fault === undefined || flavor !== 'grpc') return key;
  return `${key}#fault-${createHash('sha256').update(fault.value).digest('hex').slice(0, 8)}`;
}

function ruleRoute(a: AppliedRule, o: RuleRouteOptions): Route {
  const { rule } = a;
  const faultAny =
    rule.fault !== undefined ? toAny(TypeUrl.HttpFault, faultConfig(rule.fault)) : undefined;
  const base: Route = {
    name: routeName(rule, faultAny, o.flavor),
    match: routeMatch(rule, o.flavor),
  };
  const fault = faultAny ? { typed_per_filter_config: { [FaultFilterName]: faultAny } } : {};
  if (rule.redirect !== undefined) {
    return {
      ...base,
      redirect: {
        ...(rule.redirect.uri !== undefined ? { path_redirect: rule.redirect.uri } : {}),
        ...(rule.redirect.authority !== undefined
          ? { host_redirect: rule.redirect.authority }
          : {}),
        response_code: 'FOUND',
      },
    };
  }
  return { ...base, ...action(a, o), ...fault };
}

/** The routes of the rules that apply to a proxy with `view`, in order. */
export function ruleRoutes(rules: readonly AppliedRule[], o: RuleRouteOptions): Route[] {
  const out: Route[] = [];
  for (const a of rules) {
    if (!appliesTo(a.rule, o.view)) continue;
    if (o.flavor === 'grpc' && a.rule.redirect !== undefined) continue;
    out.push(ruleRoute(a, o));
  }
  return out;
}

/** Every cluster a route names (for the snapshot's consistency check). */
export function routeClusters(routes: readonly Route[]): string[] {
  const out: string[] = [];
  for (const r of routes) {
    const c = r.route?.cluster;
    if (typeof c === 'string' && c !== '') out.push(c);
    for (const w of r.route?.weighted_clusters?.clusters ?? []) if (w.name) out.push(w.name);
  }
  return out;
}

/**
 * The traffic model of one build: for each destination host, the RouteRules that apply (in
 * precedence order, their shares resolved to label subsets), the subsets those rules name, and
 * the DestinationPolicies; the EgressRules and Ingresses that apply; and every object that
 * could not be applied, with why. Built by `resolveTraffic`, read by the generators.
 */
import {
  configKey,
  hasLabels,
  labelsText,
  type ConfigMeta,
  type ConfigProblem,
  type DestinationPolicy,
  type EgressRule,
  type Ingress,
  type Labels,
  type RouteRule,
  type ServiceRef,
} from '../config/model.ts';

/** A version of a service: the endpoints with all these labels, as cluster `outbound|p|name|h`. */
export interface Subset {
  /** `version=v2` (labels sorted, comma-separated). */
  readonly name: string;
  readonly labels: Labels;
}

export function subsetOf(labels: Labels): Subset {
  return { name: labelsText(labels), labels };
}

/** One share of a rule: a host and subset ('' = every endpoint) and its weight (1-100). */
export interface RouteTarget {
  readonly host: string;
  readonly subset: string;
  readonly weight: number;
}

export interface AppliedRule {
  readonly rule: RouteRule;
  /** Empty: the destination's default cluster (a rule that only sets timeouts, faults...). */
  readonly targets: readonly RouteTarget[];
}

export interface HostTraffic {
  /** Highest precedence first, then by name. */
  readonly rules: readonly AppliedRule[];
  /** Sorted by name. */
  readonly subsets: readonly Subset[];
  readonly policies: readonly DestinationPolicy[];
}

export interface Traffic {
  /** By destination hostname (mesh services and EgressRule hosts); same object when unchanged. */
  readonly hosts: ReadonlyMap<string, HostTraffic>;
  readonly egress: readonly EgressRule[];
  readonly ingresses: readonly Ingress[];
  readonly problems: readonly ConfigProblem[];
  /** Every object that applied cleanly. */
  readonly applied: readonly ConfigMeta[];
  /** Rules and policies restricted to a source: what makes proxies' views differ. */
  readonly sourced: readonly { readonly meta: ConfigMeta; readonly source: ServiceRef }[];
}

export const emptyHostTraffic: HostTraffic = { rules: [], subsets: [], policies: [] };

/** What a proxy's workload is, for `match.source` and policy sources. */
export interface Workload {
  readonly labels: Labels;
  /** Hostnames of the services the workload's endpoints belong to. */
  readonly services: ReadonlySet<string>;
}

export function sourceMatches(source: ServiceRef, w: Workload): boolean {
  if (source.host !== undefined && !w.services.has(source.host)) return false;
  return hasLabels(w.labels, source.labels);
}

/** Which source-restricted rules and policies apply to a proxy; `key` is '' when none do. */
export interface SourceView {
  readonly key: string;
  readonly matched: ReadonlySet<string>;
}

export const noSourceView: SourceView = { key: '', matched: new Set() };

export function sourceView(traffic: Traffic, w: Workload): SourceView {
  if (traffic.sourced.length === 0) return noSourceView;
  const matched = traffic.sourced
    .filter((s) => sourceMatches(s.source, w))
    .map((s) => configKey(s.meta));
  if (matched.length === 0) return noSourceView;
  return { key: matched.join(' '), matched: new Set(matched) };
}

/** Whether a rule or policy applies to a proxy with this view. */
export function appliesTo(
  x: { readonly meta: ConfigMeta; readonly source: ServiceRef | undefined },
  view: SourceView,
): boolean {
  return x.source === undefined || view.matched.has(configKey(x.meta));
}

/**
 * The policy for a cluster of `host`: `subset` labels (undefined for the default cluster) must
 * contain the policy's labels; a source-restricted policy beats one for all sources, more labels
 * beat fewer, then the first by namespace and name.
 */
export function policyFor(
  t: HostTraffic,
  subset: Labels | undefined,
  view: SourceView,
): DestinationPolicy | undefined {
  let best: DestinationPolicy | undefined;
  let bestScore = -1;
  for (const p of t.policies) {
    if (!appliesTo(p, view)) continue;
    const n = Object.keys(p.destinationLabels).length;
    if (subset === undefined ? n > 0 : !hasLabels(subset, p.destinationLabels)) continue;
    const score = (p.source === undefined ? 0 : 1000) + n;
    if (score > bestScore) {
      best = p;
      bestScore = score;
    }
  }
  return best;
}

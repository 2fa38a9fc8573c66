/**
 * Istio 0.2's traffic configuration as Pilot uses it: RouteRule, DestinationPolicy, EgressRule
 * (config.istio.io/v1alpha2) and Kubernetes Ingresses of class `istio`, each parsed once at the
 * edge into a readonly object with names resolved to hostnames and durations to milliseconds.
 * Generators read only these types, never the raw objects.
 */

export const ConfigKind = {
  RouteRule: 'RouteRule',
  DestinationPolicy: 'DestinationPolicy',
  EgressRule: 'EgressRule',
  Ingress: 'Ingress',
} as const;
export type ConfigKind = (typeof ConfigKind)[keyof typeof ConfigKind];

export type Labels = Readonly<Record<string, string>>;

/** Which object a piece of config came from. */
export interface ConfigMeta {
  readonly kind: ConfigKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  /** `metadata.generation`: what a status condition's observedGeneration refers to. */
  readonly generation: number | undefined;
}

/** `RouteRule/shop/reviews-v2`: the key of an object in maps, logs and /debug/configz. */
export function configKey(m: Pick<ConfigMeta, 'kind' | 'namespace' | 'name'>): string {
  return `${m.kind}/${m.namespace}/${m.name}`;
}

/** An IstioService reference, resolved: `host` is the FQDN (absent for a labels-only source). */
export interface ServiceRef {
  readonly host: string | undefined;
  readonly labels: Labels;
}

export const MatchType = ['exact', 'prefix', 'regex'] as const;
export type MatchType = (typeof MatchType)[number];

export interface StringMatch {
  readonly type: MatchType;
  readonly value: string;
}

/** A request header condition; `uri`, `scheme`, `method` and `authority` are the special keys. */
export interface HeaderMatch {
  readonly name: string;
  readonly match: StringMatch;
}

/** One share of a rule's traffic: a service (default the rule's), a version by labels, a weight. */
export interface WeightedDestination {
  readonly host: string;
  readonly labels: Labels;
  readonly weight: number;
}

export interface HttpRedirect {
  readonly uri: string | undefined;
  readonly authority: string | undefined;
}

export interface HttpRetry {
  readonly attempts: number;
  readonly perTryTimeoutMs: number | undefined;
}

export interface HttpFault {
  readonly delay: { readonly percent: number; readonly fixedDelayMs: number } | undefined;
  readonly abort: { readonly percent: number; readonly httpStatus: number } | undefined;
}

export interface RouteRule {
  readonly meta: ConfigMeta;
  /** The destination service's hostname (a mesh service or an EgressRule host). */
  readonly destination: string;
  readonly precedence: number;
  /** Only calls from this source (service and/or labels) are routed by the rule. */
  readonly source: ServiceRef | undefined;
  /** Sorted by name. */
  readonly headers: readonly HeaderMatch[];
  /** Empty for a rule that only sets policies (timeout, retries, faults) on the default route. */
  readonly route: readonly WeightedDestination[];
  readonly redirect: HttpRedirect | undefined;
  readonly rewrite: HttpRedirect | undefined;
  readonly websocketUpgrade: boolean;
  readonly timeoutMs: number | undefined;
  readonly retries: HttpRetry | undefined;
  readonly fault: HttpFault | undefined;
}

export const LoadBalancer = ['ROUND_ROBIN', 'LEAST_CONN', 'RANDOM'] as const;
export type LoadBalancer = (typeof LoadBalancer)[number];

/** `circuitBreaker.simpleCb`, defaults filled in (docs/reference/pilot.md, "Routing config"). */
export interface SimpleCircuitBreaker {
  readonly maxConnections: number | undefined;
  readonly httpMaxPendingRequests: number;
  readonly httpMaxRequests: number;
  readonly httpMaxRetries: number;
  readonly sleepWindowMs: number;
  readonly httpConsecutiveErrors: number;
  readonly httpDetectionIntervalMs: number;
  readonly httpMaxRequestsPerConnection: number | undefined;
  readonly httpMaxEjectionPercent: number;
}

export interface DestinationPolicy {
  readonly meta: ConfigMeta;
  readonly destination: string;
  /** Narrows the policy to one version (the subset a RouteRule routes to). */
  readonly destinationLabels: Labels;
  readonly source: ServiceRef | undefined;
  readonly loadBalancing: LoadBalancer | undefined;
  readonly circuitBreaker: SimpleCircuitBreaker | undefined;
}

export const EgressProtocol = ['HTTP', 'HTTPS', 'GRPC', 'HTTP2'] as const;
export type EgressProtocol = (typeof EgressProtocol)[number];

export interface EgressPort {
  readonly port: number;
  readonly protocol: EgressProtocol;
}

export interface EgressRule {
  readonly meta: ConfigMeta;
  /** `api.foo.com`, or a wildcard `*.foo.com` / `*-bar.foo.com`. */
  readonly host: string;
  readonly wildcard: boolean;
  /** Sorted by port. */
  readonly ports: readonly EgressPort[];
  readonly useEgressProxy: boolean;
}

export const PathType = ['Exact', 'Prefix', 'ImplementationSpecific'] as const;
export type PathType = (typeof PathType)[number];

export interface IngressBackend {
  /** The backend service's hostname. */
  readonly host: string;
  /** The service port, by number or by name. */
  readonly port: number | string;
}

export interface IngressPath {
  readonly path: string;
  readonly pathType: PathType;
  readonly backend: IngressBackend;
}

export interface IngressRule {
  /** Undefined when the rule names no host: it matches every host. */
  readonly host: string | undefined;
  readonly paths: readonly IngressPath[];
}

export interface IngressTls {
  readonly hosts: readonly string[];
  readonly secretName: string;
}

/** A Kubernetes Ingress of class `istio`. */
export interface Ingress {
  readonly meta: ConfigMeta;
  readonly rules: readonly IngressRule[];
  readonly defaultBackend: IngressBackend | undefined;
  readonly tls: readonly IngressTls[];
}

/** An object Pilot could not use, and why (shown in /debug/configz, status and Events). */
export interface ConfigProblem {
  readonly meta: ConfigMeta;
  /** A short CamelCase reason for the status condition (`NoMatchingPods`). */
  readonly reason: string;
  readonly message: string;
}

/** The config at one moment: immutable, each list sorted by namespace and name. */
export interface ConfigState {
  readonly routeRules: readonly RouteRule[];
  readonly destinationPolicies: readonly DestinationPolicy[];
  readonly egressRules: readonly EgressRule[];
  readonly ingresses: readonly Ingress[];
  /** Objects that could not be read at all (schema-valid, but not something Pilot understands). */
  readonly rejected: readonly ConfigProblem[];
}

export const emptyConfig: ConfigState = {
  routeRules: [],
  destinationPolicies: [],
  egressRules: [],
  ingresses: [],
  rejected: [],
};

/**
 * A source of config. Contract: `current()` returns the same object while nothing changed;
 * listeners run after a change is visible through `current()`.
 */
export interface ConfigSource {
  current(): ConfigState;
  onChange(listener: () => void): () => void;
  /** Why the config is not complete yet (initial lists not in), or undefined. */
  notSynced(): string | undefined;
}

/** Whether `labels` has every key and value of `selector`. */
export function hasLabels(labels: Labels, selector: Labels): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/** `a=1,b=2`: labels in a stable, readable form (subset names, messages). */
export function labelsText(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ''}`)
    .join(',');
}

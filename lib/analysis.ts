/**
 * What `istio-lite analyze` reports: findings with a stable code, a severity, the object and field,
 * a message and a fix hint. The checks live with the code whose rules they are (Pilot's traffic
 * resolution, Mixer's config compilation, the injector's selectors), each returning findings of
 * this one shape; the codes are a contract (scripts may match on them), so a code never changes
 * meaning and a retired one is never reused. The list is in docs/operating.md.
 */

export const Severities = ['Error', 'Warning', 'Info'] as const;
export type Severity = (typeof Severities)[number];

export interface ObjectRef {
  readonly kind: string;
  /** Empty for cluster-scoped objects. */
  readonly namespace: string;
  readonly name: string;
}

export interface Finding {
  readonly code: string;
  readonly severity: Severity;
  readonly object: ObjectRef;
  /** The field at fault (`spec.route[1].labels`), when one is. */
  readonly field: string | undefined;
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
  /** Where the object came from: a file and document, or `cluster`. */
  readonly source?: string;
}

interface CodeInfo {
  readonly code: string;
  readonly severity: Severity;
  readonly hint: string;
}

/**
 * Every code, by the reason the checker gives (Pilot's status-condition reasons, and names for
 * the others).
 */
export const AnalysisCodes = {
  Invalid: {
    code: 'IL0001',
    severity: 'Error',
    hint: 'fix the named field; Pilot leaves the whole object out until it reads',
  },
  UnknownDestination: {
    code: 'IL0101',
    severity: 'Error',
    hint: 'name a Service that exists (name, or name.namespace) or declare the external host with an EgressRule',
  },
  NoMatchingPods: {
    code: 'IL0102',
    severity: 'Error',
    hint: 'deploy pods with these labels first, or route to labels a running version has (kubectl get pods --show-labels)',
  },
  WeightsNot100: {
    code: 'IL0103',
    severity: 'Error',
    hint: 'make the route weights add up to exactly 100 (a route without weight counts as 100 when alone)',
  },
  NoMatchingPort: {
    code: 'IL0104',
    severity: 'Error',
    hint: 'route to a service with the same port, or exactly one HTTP port; an Ingress backend needs a port the Service has',
  },
  NotHttp: {
    code: 'IL0105',
    severity: 'Error',
    hint: "name the destination's port http, http2 or grpc (or set appProtocol): RouteRules route HTTP only",
  },
  NotRouted: {
    code: 'IL0106',
    severity: 'Error',
    hint: 'add a RouteRule that routes to these labels, or drop destination.labels to apply to every version',
  },
  ConflictsWithService: {
    code: 'IL0107',
    severity: 'Error',
    hint: 'an EgressRule is for hosts outside the mesh; remove it, the service is reachable already',
  },
  Conflict: {
    code: 'IL0108',
    severity: 'Error',
    hint: 'declare each external host and port in one EgressRule only',
  },
  NoEgressGateway: {
    code: 'IL0109',
    severity: 'Error',
    hint: 'install the egress gateway (the chart does with gateways.egress.enabled) or set useEgressProxy: false',
  },
  UnknownBackend: {
    code: 'IL0110',
    severity: 'Error',
    hint: 'point the Ingress backend at a Service in the Ingress namespace',
  },
  NotApplied: {
    code: 'IL0199',
    severity: 'Error',
    hint: 'see the message; Pilot leaves the object out until it is fixed',
  },
  MixerConfigInvalid: {
    code: 'IL0201',
    severity: 'Error',
    hint: 'fix the expression or reference named; Mixer leaves the object (and rules using it) out',
  },
  MixerUnknownKind: {
    code: 'IL0202',
    severity: 'Warning',
    hint: 'no adapter or template of this kind is loaded: check the kind, or load its module with --adapterModules',
  },
  InjectionMissedByWebhook: {
    code: 'IL0301',
    severity: 'Error',
    hint: "the injector's MutatingWebhookConfiguration does not select this namespace: check its namespaceSelector (e.g. a revision label it excludes)",
  },
  NoInjectorWebhook: {
    code: 'IL0302',
    severity: 'Error',
    hint: 'install the chart (it registers the istio-sidecar-injector MutatingWebhookConfiguration) or run `npm start`',
  },
  PodNotInjected: {
    code: 'IL0303',
    severity: 'Warning',
    hint: 'the pod was created before injection was enabled, or opted out: restart its workload (kubectl rollout restart) to get the sidecar',
  },
  InjectionLabelsConflict: {
    code: 'IL0304',
    severity: 'Warning',
    hint: 'use one of istio-injection and istio.io/rev on a namespace; with both, istio-injection decides',
  },
} as const satisfies Readonly<Record<string, CodeInfo>>;

export type AnalysisReason = keyof typeof AnalysisCodes;

function isReason(r: string): r is AnalysisReason {
  return Object.hasOwn(AnalysisCodes, r);
}

/** A finding for a checker's reason (an unknown one is IL0199, never dropped). */
export function finding(
  reason: string,
  object: ObjectRef,
  message: string,
  field?: string,
): Finding {
  const info: CodeInfo = isReason(reason) ? AnalysisCodes[reason] : AnalysisCodes.NotApplied;
  return {
    code: info.code,
    severity: info.severity,
    object,
    field,
    message,
    hint: info.hint,
  };
}

/** Errors first, then by object and code: the order the report prints. */
export function compareFindings(a: Finding, b: Finding): number {
  const rank = (s: Severity) => Severities.indexOf(s);
  const key = (f: Finding) =>
    `${f.object.namespace}/${f.object.kind}/${f.object.name}/${f.code}/${f.field ?? ''}`;
  return rank(a.severity) - rank(b.severity) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

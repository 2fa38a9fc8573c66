/**
 * The injection decision: does this pod get a sidecar? Pure, and returned as data with a reason from
 * a fixed set, so the same value serves metrics labels, logs, Events and kube-inject's report.
 *
 * Order (docs/reference/injection.md, "Opt-in and opt-out"): system namespace, hostNetwork, already injected, namespace opt-out, revision
 * mismatch, the pod's explicit label (or annotation), then, for pods in scope (namespace enabled or a
 * matching `istio.io/rev`), the never and always selectors (never wins) and the global policy.
 */
import { selectorMatches } from '../lib/label-selector.ts';
import type { InjectorConfig } from './config.ts';

export const Label = {
  InjectionNamespace: 'istio-injection',
  Revision: 'istio.io/rev',
  SidecarInject: 'sidecar.istio.io/inject',
} as const;

export const InjectReasons = [
  'namespace_enabled',
  'revision_enabled',
  'pod_opt_in',
  'always_inject_selector',
] as const;
export type InjectReason = (typeof InjectReasons)[number];

export const SkipReasons = [
  'system_namespace',
  'host_network',
  'already_injected',
  'namespace_disabled',
  'revision_mismatch',
  'pod_opt_out',
  'never_inject_selector',
  'namespace_not_enabled',
  'policy_disabled',
] as const;
export type SkipReason = (typeof SkipReasons)[number];

export type Decision =
  | { readonly inject: true; readonly reason: InjectReason }
  | { readonly inject: false; readonly reason: SkipReason };

export interface PolicyInput {
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly hostNetwork: boolean;
  readonly alreadyInjected: boolean;
}

const truthy = new Set(['y', 'yes', 'true', 'on']);
const falsy = new Set(['n', 'no', 'false', 'off']);

/** The pod's explicit choice: label first (it works in objectSelector), then annotation. */
export function explicitChoice(
  labels: Readonly<Record<string, string>>,
  annotations: Readonly<Record<string, string>>,
  warnings: string[],
): boolean | undefined {
  const fromLabel = labels[Label.SidecarInject];
  const raw = fromLabel ?? annotations[Label.SidecarInject];
  if (raw === undefined || raw === '') return undefined;
  const v = raw.toLowerCase();
  if (truthy.has(v)) return true;
  if (falsy.has(v)) return false;
  const where = fromLabel === undefined ? 'annotation' : 'label';
  warnings.push(
    `${where} ${Label.SidecarInject}="${raw}" is not true or false; treated as false (no sidecar)`,
  );
  return false;
}

const skip = (reason: SkipReason): Decision => ({ inject: false, reason });
const inject = (reason: InjectReason): Decision => ({ inject: true, reason });

export function decide(
  input: PolicyInput,
  config: InjectorConfig,
  warnings: string[] = [],
): Decision {
  if (
    input.namespace === config.controlPlaneNamespace ||
    config.systemNamespaces.includes(input.namespace)
  ) {
    return skip('system_namespace');
  }
  if (input.hostNetwork) return skip('host_network');
  if (input.alreadyInjected) return skip('already_injected');

  const nsInjection = input.namespaceLabels[Label.InjectionNamespace];
  if (nsInjection === 'disabled') return skip('namespace_disabled');
  const nsEnabled = nsInjection === 'enabled';

  // istio.io/rev selects a control plane; istio-injection on the namespace takes precedence.
  const podRev = input.labels[Label.Revision];
  const nsRev = nsEnabled ? undefined : input.namespaceLabels[Label.Revision];
  const rev = podRev ?? nsRev;
  if (rev !== undefined && rev !== config.revision) return skip('revision_mismatch');

  const choice = explicitChoice(input.labels, input.annotations, warnings);
  if (choice === false) return skip('pod_opt_out');
  if (choice === true) return inject('pod_opt_in');

  // Without an explicit choice the pod must be in scope: an enabled namespace or a matching revision.
  if (!nsEnabled && rev === undefined) return skip('namespace_not_enabled');
  if (config.neverInjectSelector.some((s) => selectorMatches(s, input.labels))) {
    return skip('never_inject_selector');
  }
  if (config.alwaysInjectSelector.some((s) => selectorMatches(s, input.labels))) {
    return inject('always_inject_selector');
  }
  if (config.policy === 'disabled') return skip('policy_disabled');
  return inject(nsEnabled ? 'namespace_enabled' : 'revision_enabled');
}

/**
 * Mixer's configuration objects as they arrive (from CRDs or files): a kind, a namespace, a name and
 * an untrusted spec. Objects are named `name.kind.namespace` (Istio's fully qualified names); a rule
 * may refer to `name.kind` in its own namespace or to `name.kind.namespace` anywhere.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';

export const ConfigGroup = 'config.istio.io';
export const ConfigVersion = 'v1alpha2';

export interface ConfigObject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly spec: unknown;
  /** Where it came from, for problem reports (`rule/default/deny`, a file path). */
  readonly source?: string;
  /** The API server's uid, when it came from there (Events point at it). */
  readonly uid?: string;
}

export function fullName(o: { kind: string; namespace: string; name: string }): string {
  return `${o.name}.${o.kind}.${o.namespace}`;
}

/** Resolves a reference made from `namespace`: `name.kind` or `name.kind.namespace`. */
export function resolveRef(ref: string, namespace: string): string {
  const parts = ref.split('.');
  if (parts.length === 2) return `${ref}.${namespace}`;
  if (parts.length === 3 && parts.every((p) => p !== '')) return ref;
  throw new IstioLiteError(
    ErrorCode.InvalidConfig,
    `"${ref}" is not a reference: write name.kind or name.kind.namespace`,
  );
}

/** The short name of a fully qualified one (`requestcount` of `requestcount.quota.ns`). */
export function shortName(full: string): string {
  return full.slice(0, full.indexOf('.'));
}

/** Something wrong with one object; the object is left out and the rest keeps working. */
export interface ConfigProblem {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly message: string;
}

/**
 * One entry point from a raw config object (as the API server returns it) to a store entry: the
 * parser registered for its kind, with errors turned into a rejected entry naming the field.
 */
import type { V1Ingress } from '@kubernetes/client-node';
import { parseDestinationPolicy } from './destination-policy.ts';
import { parseEgressRule } from './egress-rule.ts';
import { parseIngress } from './ingress.ts';
import { ConfigKind, configKey, type ConfigMeta } from './model.ts';
import { objectMeta } from './parse-common.ts';
import { parseRouteRule } from './route-rule.ts';
import { parseEntry, type ConfigEntry } from './store.ts';

/** The CRD kinds Pilot watches, with their plural resource names. */
export const CrdKinds = {
  [ConfigKind.RouteRule]: 'routerules',
  [ConfigKind.DestinationPolicy]: 'destinationpolicies',
  [ConfigKind.EgressRule]: 'egressrules',
} as const;
export type CrdKind = keyof typeof CrdKinds;

const parsers: Readonly<Record<CrdKind, (raw: unknown, domain: string) => ConfigEntry>> = {
  RouteRule: (raw, domain) => ({ kind: 'RouteRule', value: parseRouteRule(raw, domain) }),
  DestinationPolicy: (raw, domain) => ({
    kind: 'DestinationPolicy',
    value: parseDestinationPolicy(raw, domain),
  }),
  EgressRule: (raw) => ({ kind: 'EgressRule', value: parseEgressRule(raw) }),
};

/**
 * A raw CRD object as a key and entry; undefined when it has no name or namespace (nothing to
 * report it on).
 */
export function parseCrdObject(
  kind: CrdKind,
  raw: unknown,
  domain: string,
): { key: string; meta: ConfigMeta; entry: ConfigEntry } | undefined {
  let meta: ConfigMeta;
  try {
    meta = objectMeta(kind, raw);
  } catch {
    return undefined;
  }
  return { key: configKey(meta), meta, entry: parseEntry(meta, () => parsers[kind](raw, domain)) };
}

/** An Ingress of class `istio` as a key and entry (see ingress.ts). */
export function parseIngressObject(
  ing: V1Ingress,
  domain: string,
): { key: string; meta: ConfigMeta; entry: ConfigEntry } | undefined {
  const name = ing.metadata?.name;
  const namespace = ing.metadata?.namespace;
  if (name === undefined || namespace === undefined) return undefined;
  const meta: ConfigMeta = {
    kind: ConfigKind.Ingress,
    namespace,
    name,
    uid: ing.metadata?.uid,
    generation: ing.metadata?.generation,
  };
  return {
    key: configKey(meta),
    meta,
    entry: parseEntry(meta, () => ({ kind: 'Ingress', value: parseIngress(ing, domain) })),
  };
}

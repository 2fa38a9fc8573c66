/**
 * Which rules apply to a request, and which of them match: the default namespace's rules always,
 * a namespace's own rules when the request's destination is in it (read through the reader, so a
 * Check's referenced attributes include what scoping looked at).
 */
import type { CompiledRule, Snapshot } from '../config/snapshot.ts';
import type { Variety } from '../config/instance-fields.ts';
import type { AttributeReader } from '../expr/reader.ts';

export function destinationNamespace(r: AttributeReader): string | undefined {
  const ns = r.get('destination.namespace');
  if (typeof ns === 'string' && ns !== '') return ns;
  const svc = r.get('destination.service');
  if (typeof svc !== 'string') return undefined;
  // The second label (`reviews.default.svc…` → `default`), without splitting the whole name.
  const a = svc.indexOf('.');
  if (a < 0) return undefined;
  const b = svc.indexOf('.', a + 1);
  return b < 0 ? svc.slice(a + 1) : svc.slice(a + 1, b);
}

/**
 * The rules whose scope and match select this request, in name order (global first). Only rules
 * with actions of one of `varieties` are considered: a Report never evaluates a check-only rule's
 * match, and a Check's referenced attributes never include what a telemetry rule would read.
 */
export function matchingRules(
  snapshot: Snapshot,
  r: AttributeReader,
  varieties: readonly Variety[],
): CompiledRule[] {
  const out: CompiledRule[] = [];
  const consider = (rules: readonly CompiledRule[]) => {
    for (const rule of rules) {
      if (!varieties.some((v) => rule.actions[v].length > 0)) continue;
      if (rule.match === undefined || rule.match.evaluate(r) === true) out.push(rule);
    }
  };
  consider(snapshot.globalRules);
  if (snapshot.namespacedRules.size > 0) {
    const ns = destinationNamespace(r);
    const rules = ns === undefined ? undefined : snapshot.namespacedRules.get(ns);
    if (rules) consider(rules);
  }
  return out;
}

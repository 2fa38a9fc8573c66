/**
 * The injection engine: one object in (any kind, a List included), the injected copy and a decision
 * per pod template out. Kinds without a pod pass through untouched. The input is never modified.
 */
import { cloneJson, isObject, type JsonValue } from '../lib/json.ts';
import { injectTemplate, type InjectContext, type TemplateResult } from './inject.ts';
import { findPodTemplates } from './workloads.ts';

export type { InjectContext, TemplateResult };

export interface EngineResult {
  /** The injected object (a copy), or the input itself when it holds no pod template. */
  readonly object: JsonValue;
  readonly pods: readonly TemplateResult[];
}

export function injectObject(input: JsonValue, ctx: InjectContext): EngineResult {
  if (!isObject(input)) return { object: input, pods: [] };
  const copy = cloneJson(input);
  const refs = findPodTemplates(copy);
  if (refs.length === 0) return { object: input, pods: [] };
  const pods = refs.map((ref) => injectTemplate(ref, ctx));
  return { object: copy, pods };
}

/**
 * Kubernetes label selectors (matchLabels and matchExpressions), parsed and narrowed once, matched
 * many times. An empty selector matches everything, as in Kubernetes.
 */
import type { FieldReader } from './config/field-reader.ts';

export const SelectorOperator = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type SelectorOperator = (typeof SelectorOperator)[number];

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly SelectorRequirement[];
}

export function parseLabelSelector(r: FieldReader): LabelSelector {
  const matchLabels = Object.fromEntries(r.stringMap('matchLabels'));
  const matchExpressions: SelectorRequirement[] = [];
  for (const e of r.list('matchExpressions')) {
    const key = e.string('key', '');
    if (key === '') e.fail('key', 'is required');
    const operator = e.oneOf('operator', SelectorOperator, 'In');
    const values = e.stringList('values', []);
    if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
      e.fail('values', `must not be empty for operator ${operator}`);
    }
    if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
      e.fail('values', `must be empty for operator ${operator}`);
    }
    e.done();
    matchExpressions.push({ key, operator, values });
  }
  r.done();
  return { matchLabels, matchExpressions };
}

export function selectorMatches(
  sel: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) {
    if (labels[k] !== v) return false;
  }
  for (const req of sel.matchExpressions) {
    const has = Object.hasOwn(labels, req.key);
    const v = labels[req.key];
    switch (req.operator) {
      case 'In':
        if (v === undefined || !req.values.includes(v)) return false;
        break;
      case 'NotIn':
        if (v !== undefined && req.values.includes(v)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

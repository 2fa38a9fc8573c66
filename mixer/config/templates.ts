/**
 * The templates, as data: which fields each has, what type each field's expression must have, and
 * how a compiled instance config builds an instance from a request's attributes. A field whose
 * expression is absent for a request makes the instance fail for that request (InstanceError); use
 * `| "unknown"` fallbacks for optional attributes.
 */
import { ValueType, type Value } from '../../lib/mixer/value.ts';
import type { FieldReader, Instance, InstanceInfo, TemplateName } from '../adapter.ts';
import { ExpressionError } from '../expr/ast.ts';
import { compileExpression, type CompiledExpression } from '../expr/compile.ts';
import type { AttributeReader } from '../expr/reader.ts';

export type Variety = 'check' | 'quota' | 'report';

export const templateVariety: Readonly<Record<TemplateName, Variety>> = {
  checknothing: 'check',
  listentry: 'check',
  logentry: 'report',
  metric: 'report',
  quota: 'quota',
  reportnothing: 'report',
};

export function isTemplate(kind: string): kind is TemplateName {
  return Object.hasOwn(templateVariety, kind);
}

/** An instance config that could not be built for one request. */
export class InstanceError extends Error {
  constructor(instance: string, field: string, message: string) {
    super(`${instance}: ${field}: ${message}`);
    this.name = 'InstanceError';
  }
}

export interface CompiledInstance {
  readonly name: string;
  readonly template: TemplateName;
  readonly variety: Variety;
  readonly info: InstanceInfo;
  build(reader: AttributeReader): Instance;
}

const scalarTypes: readonly ValueType[] = Object.values(ValueType).filter(
  (t) => t !== ValueType.STRING_MAP,
);

function expr(
  spec: FieldReader,
  key: string,
  types: readonly ValueType[],
  def?: string,
): CompiledExpression | undefined {
  const text = spec.string(key, def ?? '');
  if (text === '') {
    if (def === undefined) return undefined;
  }
  try {
    return compileExpression(text, { expected: types });
  } catch (e) {
    if (e instanceof ExpressionError) spec.fail(key, `${JSON.stringify(text)}: ${e.message}`);
    throw e;
  }
}

function required(spec: FieldReader, key: string, types: readonly ValueType[]): CompiledExpression {
  const e = expr(spec, key, types);
  if (e === undefined) spec.fail(key, 'is required');
  return e;
}

function exprMap(spec: FieldReader, key: string): [string, CompiledExpression][] {
  return [...spec.stringMap(key)].map(([k, text]) => {
    try {
      return [k, compileExpression(text, { expected: scalarTypes })];
    } catch (e) {
      if (e instanceof ExpressionError)
        spec.fail(`${key}.${k}`, `${JSON.stringify(text)}: ${e.message}`);
      throw e;
    }
  });
}

function evalRequired(
  name: string,
  field: string,
  e: CompiledExpression,
  r: AttributeReader,
): Value {
  const v = e.evaluate(r);
  if (v === undefined) {
    throw new InstanceError(
      name,
      field,
      `${JSON.stringify(e.text)} has no value for this request (an attribute is absent; add a | fallback)`,
    );
  }
  return v;
}

function evalMap(
  name: string,
  field: string,
  entries: readonly [string, CompiledExpression][],
  r: AttributeReader,
): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const [k, e] of entries) out.set(k, evalRequired(name, `${field}.${k}`, e, r));
  return out;
}

function optionalString(
  e: CompiledExpression | undefined,
  r: AttributeReader,
  def: string,
): string {
  const v = e?.evaluate(r);
  return typeof v === 'string' ? v : def;
}

/** Compiles an instance config (throws a FieldError naming the field). */
export function compileInstance(
  name: string,
  template: TemplateName,
  spec: FieldReader,
): CompiledInstance {
  const base = { name, template, variety: templateVariety[template] };
  const info = (keys: readonly string[]): InstanceInfo => ({ name, template, keys });
  switch (template) {
    case 'checknothing':
    case 'reportnothing': {
      spec.done();
      const instance = { template, name } as Instance;
      return { ...base, info: info([]), build: () => instance };
    }
    case 'listentry': {
      const value = required(spec, 'value', scalarTypes);
      spec.done();
      return {
        ...base,
        info: info([]),
        build: (r) => ({ template, name, value: evalRequired(name, 'value', value, r) }),
      };
    }
    case 'metric': {
      const value = required(spec, 'value', scalarTypes);
      const dims = exprMap(spec, 'dimensions');
      const mrt = expr(spec, 'monitoredResourceType', [ValueType.STRING]);
      spec.raw('monitoredResourceDimensions');
      spec.done();
      return {
        ...base,
        info: info(dims.map(([k]) => k)),
        build: (r) => ({
          template,
          name,
          value: evalRequired(name, 'value', value, r),
          dimensions: evalMap(name, 'dimensions', dims, r),
          monitoredResourceType: optionalString(mrt, r, ''),
        }),
      };
    }
    case 'logentry': {
      const vars = exprMap(spec, 'variables');
      const severity = expr(spec, 'severity', [ValueType.STRING], '"INFO"');
      const ts = expr(
        spec,
        'timestamp',
        [ValueType.TIMESTAMP],
        'request.time | context.time | timestamp("1970-01-01T00:00:00Z")',
      );
      const mrt = expr(spec, 'monitoredResourceType', [ValueType.STRING]);
      spec.raw('monitoredResourceDimensions');
      spec.done();
      return {
        ...base,
        info: info(vars.map(([k]) => k)),
        build: (r) => {
          const t = ts?.evaluate(r);
          return {
            template,
            name,
            severity: optionalString(severity, r, 'INFO'),
            timestamp: t instanceof Date && t.getTime() > 0 ? t : new Date(),
            variables: evalMap(name, 'variables', vars, r),
            monitoredResourceType: optionalString(mrt, r, ''),
          };
        },
      };
    }
    case 'quota': {
      const dims = exprMap(spec, 'dimensions');
      spec.done();
      return {
        ...base,
        info: info(dims.map(([k]) => k)),
        build: (r) => ({ template, name, dimensions: evalMap(name, 'dimensions', dims, r) }),
      };
    }
  }
}

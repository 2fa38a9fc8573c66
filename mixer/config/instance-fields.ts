/**
 * The pieces every template's instance config is made of: expressions compiled once when config
 * arrives (a parse or type error names the field), evaluated per request. A field whose expression
 * is absent for a request makes the instance fail for that request (InstanceError); use `|`
 * fallbacks for optional attributes.
 */
import { ValueType, type Value } from '../../lib/mixer/value.ts';
import type { FieldReader, InstanceInfo } from '../adapter.ts';
import type { TemplateInstance, TemplateVariety } from '../template.ts';
import type { Instance } from '../adapter.ts';
import { ExpressionError } from '../expr/ast.ts';
import { compileExpression, type CompiledExpression } from '../expr/compile.ts';
import type { AttributeReader } from '../expr/reader.ts';

export type Variety = TemplateVariety;

/** An instance config that could not be built for one request. */
export class InstanceError extends Error {
  constructor(instance: string, field: string, message: string) {
    super(`${instance}: ${field}: ${message}`);
    this.name = 'InstanceError';
  }
}

interface CompiledBase {
  readonly name: string;
  readonly variety: Variety;
  readonly info: InstanceInfo;
}

/** An instance config ready for requests: a built-in template's or a module's. */
export type CompiledInstance =
  | (CompiledBase & {
      readonly custom: false;
      readonly template: string;
      build(reader: AttributeReader): Instance;
    })
  | (CompiledBase & {
      readonly custom: true;
      readonly template: string;
      build(reader: AttributeReader): TemplateInstance;
    });

/** Every type but STRING_MAP. */
export const scalarTypes: readonly ValueType[] = Object.values(ValueType).filter(
  (t) => t !== ValueType.STRING_MAP,
);

/** Compiles `text` as the field `key` (a parse or type error names it). */
export function compileField(
  spec: FieldReader,
  key: string,
  text: string,
  types: readonly ValueType[],
): CompiledExpression {
  try {
    return compileExpression(text, { expected: types });
  } catch (e) {
    if (e instanceof ExpressionError) spec.fail(key, `${JSON.stringify(text)}: ${e.message}`);
    throw e;
  }
}

/** The field's expression, `def` when left out; undefined when left out without a default. */
export function expr(
  spec: FieldReader,
  key: string,
  types: readonly ValueType[],
  def?: string,
): CompiledExpression | undefined {
  const text = spec.string(key, def ?? '');
  if (text === '' && def === undefined) return undefined;
  return compileField(spec, key, text, types);
}

export function required(
  spec: FieldReader,
  key: string,
  types: readonly ValueType[],
): CompiledExpression {
  const e = expr(spec, key, types);
  if (e === undefined) spec.fail(key, 'is required');
  return e;
}

/** A map of expressions (`dimensions`), each of one of `types`. */
export function exprMap(
  spec: FieldReader,
  key: string,
  types: readonly ValueType[] = scalarTypes,
): [string, CompiledExpression][] {
  return [...spec.stringMap(key)].map(([k, text]) => [
    k,
    compileField(spec, `${key}.${k}`, text, types),
  ]);
}

export function evalRequired(
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

export function evalMap(
  name: string,
  field: string,
  entries: readonly [string, CompiledExpression][],
  r: AttributeReader,
): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const [k, e] of entries) out.set(k, evalRequired(name, `${field}.${k}`, e, r));
  return out;
}

export function optionalString(
  e: CompiledExpression | undefined,
  r: AttributeReader,
  def: string,
): string {
  const v = e?.evaluate(r);
  return typeof v === 'string' ? v : def;
}

/**
 * Templates a module adds (mixer/template.ts): checking a definition when the module loads, and
 * compiling instance configs of it from its field table, as the built-in ones are compiled.
 */
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import { ValueType } from '../../lib/mixer/value.ts';
import type { FieldReader } from '../adapter.ts';
import type { CompiledExpression } from '../expr/compile.ts';
import { compileExpression } from '../expr/compile.ts';
import {
  FieldType,
  TemplateVariety,
  type Template,
  type TemplateField,
  type TemplateInstance,
} from '../template.ts';
import {
  compileField,
  evalMap,
  evalRequired,
  exprMap,
  scalarTypes,
  type CompiledInstance,
} from './instance-fields.ts';

const fieldName = /^[a-z][a-zA-Z0-9]*$/;

function typesOf(t: TemplateField['type']): readonly ValueType[] {
  return t === 'ANY' ? scalarTypes : [t];
}

function invalid(template: string, message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidConfig, `template ${template}: ${message}`);
}

/** Throws an error naming the template and the field when the definition is unusable. */
export function checkTemplate(t: Template): void {
  const name = t.name;
  if (!/^[a-z][a-z0-9]*$/.test(name)) {
    throw invalid(name, 'the name must be lowercase letters and digits (it is a CRD kind)');
  }
  if (!(TemplateVariety as readonly string[]).includes(t.variety)) {
    throw invalid(name, `variety must be one of ${TemplateVariety.join(', ')}, got ${t.variety}`);
  }
  for (const [field, def] of Object.entries(t.fields)) {
    if (!fieldName.test(field)) {
      throw invalid(name, `field "${field}": names are camelCase letters and digits`);
    }
    if (!(FieldType as readonly string[]).includes(def.type)) {
      throw invalid(name, `field ${field}: type must be one of ${FieldType.join(', ')}`);
    }
    if (def.map === true && def.type === 'STRING_MAP') {
      throw invalid(name, `field ${field}: a map field's entries cannot be STRING_MAPs`);
    }
    if (def.default !== undefined) {
      try {
        compileExpression(def.default, { expected: typesOf(def.type) });
      } catch (e) {
        throw invalid(
          name,
          `field ${field}: default ${JSON.stringify(def.default)}: ${errorMessage(e)}`,
        );
      }
    }
  }
}

/** Compiles an instance config of a module's template (throws a FieldError naming the field). */
export function compileCustomInstance(
  name: string,
  t: Template,
  spec: FieldReader,
): CompiledInstance {
  const scalars: [string, CompiledExpression][] = [];
  const maps: [string, [string, CompiledExpression][]][] = [];
  for (const [field, def] of Object.entries(t.fields)) {
    const types = typesOf(def.type);
    if (def.map === true) {
      if (spec.has(field)) maps.push([field, exprMap(spec, field, types)]);
      continue;
    }
    const text = spec.string(field, '') || def.default;
    if (text === undefined || text === '') {
      if (def.optional === true) continue;
      spec.fail(field, 'is required');
    }
    scalars.push([field, compileField(spec, field, text, types)]);
  }
  spec.done();
  const keys = [...scalars.map(([k]) => k), ...maps.map(([k]) => k)];
  return {
    name,
    template: t.name,
    variety: t.variety,
    custom: true,
    info: { name, template: t.name, keys },
    build: (r): TemplateInstance => {
      const values = new Map(scalars.map(([k, e]) => [k, evalRequired(name, k, e, r)]));
      const out = new Map(maps.map(([k, entries]) => [k, evalMap(name, k, entries, r)]));
      return { template: t.name, name, values, maps: out };
    },
  };
}

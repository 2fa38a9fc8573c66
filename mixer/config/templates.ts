/**
 * The six built-in templates, as data: which fields each has, what type each field's expression
 * must have, and how a compiled instance config builds an instance from a request's attributes.
 * Templates a module adds are compiled by custom-templates.ts; template-registry.ts knows both.
 */
import { ValueType, type Value } from '../../lib/mixer/value.ts';
import type { FieldReader, Instance, InstanceInfo, TemplateName } from '../adapter.ts';
import type { CompiledExpression } from '../expr/compile.ts';
import type { AttributeReader } from '../expr/reader.ts';
import {
  evalMap,
  evalRequired,
  expr,
  exprMap,
  optionalString,
  required,
  scalarTypes,
  type CompiledInstance,
  type Variety,
} from './instance-fields.ts';

export type { CompiledInstance, Variety } from './instance-fields.ts';
export { InstanceError } from './instance-fields.ts';

export const templateVariety: Readonly<Record<TemplateName, Variety>> = {
  checknothing: 'check',
  listentry: 'check',
  logentry: 'report',
  metric: 'report',
  quota: 'quota',
  reportnothing: 'report',
};

export function isBuiltinTemplate(kind: string): kind is TemplateName {
  return Object.hasOwn(templateVariety, kind);
}

const noDimensions: ReadonlyMap<string, Value> = new Map();

/** `monitoredResourceDimensions` (one shared empty map when there are none: the common case). */
function resourceDimensions(
  name: string,
  entries: readonly [string, CompiledExpression][],
  r: AttributeReader,
): ReadonlyMap<string, Value> {
  return entries.length === 0
    ? noDimensions
    : evalMap(name, 'monitoredResourceDimensions', entries, r);
}

/** Compiles an instance config of a built-in template (throws a FieldError naming the field). */
export function compileBuiltinInstance(
  name: string,
  template: TemplateName,
  spec: FieldReader,
): CompiledInstance {
  const base = { name, template, variety: templateVariety[template], custom: false } as const;
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
      const mrd = exprMap(spec, 'monitoredResourceDimensions');
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
          monitoredResourceDimensions: resourceDimensions(name, mrd, r),
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
      const mrd = exprMap(spec, 'monitoredResourceDimensions');
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
            monitoredResourceDimensions: resourceDimensions(name, mrd, r),
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

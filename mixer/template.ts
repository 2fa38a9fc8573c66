/**
 * The template API: how a module adds a whole new class of adapters without touching Mixer.
 *
 * A template is the shape of the values a rule hands an adapter (Istio's `metric`, `logentry`,
 * …). Mixer has six built in (mixer/adapter.ts `TemplateName`); a module loaded with
 * `--adapterModules` may export more as `templates`, as data:
 *
 *   export const templates: Template[] = [{
 *     name: 'accessrequest',           // the CRD kind of its instances
 *     description: 'Who asks for what.',
 *     variety: 'check',                // check, quota or report
 *     fields: {
 *       user: { type: 'STRING' },                                 // required expression
 *       method: { type: 'STRING', default: 'request.method | "GET"' },
 *       size: { type: 'INT64', optional: true },                  // may be left out
 *       properties: { type: 'ANY', map: true },                   // name → expression
 *     },
 *   }];
 *
 * Instance configs of that kind are then compiled like the built-in ones: each field's
 * expression is parsed and type-checked against the vocabulary when config arrives (an error
 * names `spec.<field>`), and an expression that is absent for a request fails the instance (use a
 * `|` fallback). Adapters list the template's name in `templates`, and their handlers receive its
 * instances as `TemplateInstance`s through `checkCustom`, `quotaCustom` or `reportCustom`
 * (mixer/adapter.ts `Handler`). The CRD of the kind is the module's to ship; `templateCrd` in
 * mixer/kube/crds.ts writes one with a schema made from the fields.
 */
import type { Value } from '../lib/mixer/value.ts';

/** Which call an instance serves: Check preconditions, quota allocation, or Report. */
export const TemplateVariety = ['check', 'quota', 'report'] as const;
export type TemplateVariety = (typeof TemplateVariety)[number];

/** The type a field's expression must have; ANY takes any type but STRING_MAP. */
export const FieldType = [
  'STRING',
  'INT64',
  'DOUBLE',
  'BOOL',
  'TIMESTAMP',
  'DURATION',
  'BYTES',
  'IP_ADDRESS',
  'STRING_MAP',
  'ANY',
] as const;
export type FieldType = (typeof FieldType)[number];

export interface TemplateField {
  /** The expression's type (each entry's, for a map field). */
  readonly type: FieldType;
  /** A map of expressions (`name: expression`, like `dimensions`); optional, empty when left out. */
  readonly map?: boolean;
  /** The expression used when an instance config leaves the field out. */
  readonly default?: string;
  /** May be left out (then absent from the instance); without this or a default it is required. */
  readonly optional?: boolean;
  readonly description?: string;
}

export interface Template {
  /** The CRD kind of its instance configs (lowercase letters and digits). */
  readonly name: string;
  readonly description: string;
  readonly variety: TemplateVariety;
  /** Field names as written in instance configs (camelCase; snake_case is accepted too). */
  readonly fields: Readonly<Record<string, TemplateField>>;
}

/** An instance of a template a module added, as its handlers receive it. */
export interface TemplateInstance {
  readonly template: string;
  /** The instance config's full name (`request.accessrequest.istio-system`). */
  readonly name: string;
  /** Scalar fields (an optional field the config left out is not here). */
  readonly values: ReadonlyMap<string, Value>;
  /** Map fields (empty when the config left one out). */
  readonly maps: ReadonlyMap<string, ReadonlyMap<string, Value>>;
}

/**
 * An example of a module that adds a whole new class of adapters: a template of its own
 * (`accessrequest`: who asks to do what to which path) and an adapter for it (`pathacl`: allows
 * requests its rules list), loaded with `istio-lite mixer --adapterModules ./accessrequest.ts`
 * or, in the image, as an npm package (docs/mixer-build.md). Mixer's code does not change.
 *
 * Only types come from istio-lite (erased at run time), so the compiled module needs nothing but
 * Node to load.
 *
 * `pathacl` spec: `rules` (a list of `{user, pathPrefix, methods}`; `user` "*" is anyone, no
 * `methods` is every method; the first rule that matches allows), `validDuration` (how long the
 * answer may be cached, default 10s).
 */
import type { Adapter, CheckResult, FieldReader, Template, TemplateInstance } from '../adapter.ts';

export const accessrequest: Template = {
  name: 'accessrequest',
  description: 'Who asks to do what to which path (a check template).',
  variety: 'check',
  fields: {
    user: { type: 'STRING', description: 'Who asks (e.g. source.user).' },
    method: { type: 'STRING', default: 'request.method | "GET"' },
    path: { type: 'STRING', default: 'request.path | "/"' },
    properties: { type: 'ANY', map: true, description: 'Anything else, for the adapter.' },
  },
};

interface AclRule {
  readonly user: string;
  readonly pathPrefix: string;
  readonly methods: readonly string[];
}

const PERMISSION_DENIED = 7; // google.rpc.Code

function readRule(r: FieldReader): AclRule {
  const rule = {
    user: r.requiredString('user'),
    pathPrefix: r.string('pathPrefix', '/'),
    methods: r.stringList('methods').map((m) => m.toUpperCase()),
  };
  r.done();
  return rule;
}

export const pathacl: Adapter = {
  name: 'pathacl',
  description: 'Allows access requests that one of its rules lists (an example adapter).',
  templates: ['accessrequest'],
  create(spec) {
    const rules = spec.list('rules').map(readRule);
    const validDurationMs = spec.duration('validDuration', 10_000);
    spec.done();
    return {
      checkCustom(instance: TemplateInstance): CheckResult {
        const text = (k: string) => {
          const v = instance.values.get(k);
          return typeof v === 'string' ? v : '';
        };
        const [user, method, path] = [text('user'), text('method').toUpperCase(), text('path')];
        const allowed = rules.some(
          (r) =>
            (r.user === '*' || r.user === user) &&
            path.startsWith(r.pathPrefix) &&
            (r.methods.length === 0 || r.methods.includes(method)),
        );
        return {
          status: allowed
            ? { code: 0, message: '' }
            : {
                code: PERMISSION_DENIED,
                message: `pathacl: ${JSON.stringify(user)} may not ${method} ${path}`,
              },
          validDurationMs,
          validUseCount: 1000,
        };
      },
    };
  },
};

export const templates: Template[] = [accessrequest];
export const adapters: Adapter[] = [pathacl];

/**
 * One immutable, validated view of Mixer's configuration: compiled rules, each action pointing at
 * a live handler and compiled instances. Built whole from the current objects whenever they
 * change, then swapped in; requests only read it.
 *
 * Every object that does not validate (an expression that does not parse or type-check, a
 * reference to nothing, an instance its handler cannot take) becomes a ConfigProblem naming it and
 * is left out; rules that depend on it are left out with their own problem; the rest works.
 *
 * Order: rules run sorted by name (global ones first), so which non-OK status answers a check
 * does not depend on the order config arrived in.
 *
 * Scope (as in Istio 0.2): rules in the default config namespace apply to every request; a rule in
 * another namespace applies to requests whose destination is in that namespace
 * (`destination.namespace`, else the second label of `destination.service`).
 */
import { errorMessage } from '../../lib/errors.ts';
import { ValueType } from '../../lib/mixer/value.ts';
import { specReader, type FieldReader, type Handler } from '../adapter.ts';
import { ExpressionError } from '../expr/ast.ts';
import { compileExpression, type CompiledExpression } from '../expr/compile.ts';
import type { LiveHandler } from './handler-table.ts';
import { fullName, resolveRef, type ConfigObject, type ConfigProblem } from './objects.ts';
import type { CompiledInstance, Variety } from './instance-fields.ts';
import type { TemplateRegistry } from './template-registry.ts';

export interface CompiledAction {
  readonly handlerName: string;
  readonly adapter: string;
  readonly handler: Handler;
  readonly instances: readonly CompiledInstance[];
}

export interface CompiledRule {
  readonly name: string;
  readonly namespace: string;
  /** Undefined: matches every request. */
  readonly match: CompiledExpression | undefined;
  readonly actions: Readonly<Record<Variety, readonly CompiledAction[]>>;
}

export interface Snapshot {
  readonly id: number;
  readonly defaultNamespace: string;
  readonly globalRules: readonly CompiledRule[];
  readonly namespacedRules: ReadonlyMap<string, readonly CompiledRule[]>;
  readonly problems: readonly ConfigProblem[];
  /** Counts by kind of the objects in effect. */
  readonly counts: Readonly<Record<string, number>>;
}

export function emptySnapshot(defaultNamespace: string): Snapshot {
  return {
    id: 0,
    defaultNamespace,
    globalRules: [],
    namespacedRules: new Map(),
    problems: [],
    counts: {},
  };
}

function problem(o: ConfigObject, message: string): ConfigProblem {
  return { kind: o.kind, namespace: o.namespace, name: o.name, message };
}

export function buildSnapshot(options: {
  readonly id: number;
  readonly objects: readonly ConfigObject[];
  readonly handlers: ReadonlyMap<string, LiveHandler>;
  readonly handlerProblems: readonly ConfigProblem[];
  readonly defaultNamespace: string;
  readonly templates: TemplateRegistry;
}): Snapshot {
  const problems: ConfigProblem[] = [...options.handlerProblems];
  const instances = new Map<string, CompiledInstance>();
  const broken = new Map<string, string>(problems.map((p) => [fullName(p), p.message]));
  const counts: Record<string, number> = {};
  const count = (kind: string) => (counts[kind] = (counts[kind] ?? 0) + 1);

  for (const o of options.objects) {
    if (!options.templates.has(o.kind)) continue;
    const name = fullName(o);
    try {
      instances.set(name, options.templates.compile(name, o.kind, specReader(o.spec)));
      count(o.kind);
    } catch (e) {
      problems.push(problem(o, errorMessage(e)));
      broken.set(name, errorMessage(e));
    }
  }
  for (const h of options.handlers.values()) count(h.adapter.name);

  const globalRules: CompiledRule[] = [];
  const namespacedRules = new Map<string, CompiledRule[]>();
  for (const o of options.objects) {
    if (o.kind !== 'rule') continue;
    try {
      const rule = compileRule(o, options.handlers, instances, broken);
      count('rule');
      if (o.namespace === options.defaultNamespace) globalRules.push(rule);
      else namespacedRules.set(o.namespace, [...(namespacedRules.get(o.namespace) ?? []), rule]);
    } catch (e) {
      problems.push(problem(o, errorMessage(e)));
    }
  }
  // Config arrives in no particular order (informers, files): rules run sorted by name, so the
  // answer (the first non-OK status wins) does not depend on arrival order.
  const byName = (a: CompiledRule, b: CompiledRule) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  globalRules.sort(byName);
  for (const list of namespacedRules.values()) list.sort(byName);
  return {
    id: options.id,
    defaultNamespace: options.defaultNamespace,
    globalRules,
    namespacedRules,
    problems,
    counts,
  };
}

function compileRule(
  o: ConfigObject,
  handlers: ReadonlyMap<string, LiveHandler>,
  instances: ReadonlyMap<string, CompiledInstance>,
  broken: ReadonlyMap<string, string>,
): CompiledRule {
  const spec = specReader(o.spec);
  const text = spec.string('match', '').trim();
  let match: CompiledExpression | undefined;
  if (text !== '' && text !== 'true') {
    try {
      match = compileExpression(text, { expected: [ValueType.BOOL] });
    } catch (e) {
      if (e instanceof ExpressionError) spec.fail('match', `${JSON.stringify(text)}: ${e.message}`);
      throw e;
    }
  }
  const actions: Record<Variety, CompiledAction[]> = { check: [], quota: [], report: [] };
  const list = spec.list('actions');
  if (list.length === 0) spec.fail('actions', 'a rule needs at least one action');
  list.forEach((a: FieldReader) => {
    const handlerRef = a.requiredString('handler');
    const handlerName = refOrFail(a, 'handler', handlerRef, o.namespace);
    const live = handlers.get(handlerName);
    if (!live) {
      a.fail('handler', missing(handlerName, broken, 'handler'));
    }
    const refs = a.stringList('instances');
    if (refs.length === 0) a.fail('instances', 'an action needs at least one instance');
    const byVariety: Record<Variety, CompiledInstance[]> = { check: [], quota: [], report: [] };
    refs.forEach((ref, i) => {
      const field = `instances[${String(i)}]`;
      const name = refOrFail(a, field, ref, o.namespace);
      const inst = instances.get(name);
      if (!inst) a.fail(field, missing(name, broken, 'instance'));
      if (!live.adapter.templates.includes(inst.template)) {
        a.fail(
          field,
          `handler ${handlerName} (${live.adapter.name}) takes ${live.adapter.templates.join(', ')}, not ${inst.template}`,
        );
      }
      const why = live.handler.validateInstance?.(inst.info);
      if (why !== undefined) a.fail(field, `handler ${handlerName}: ${why}`);
      byVariety[inst.variety].push(inst);
    });
    a.raw('name');
    a.done();
    for (const v of ['check', 'quota', 'report'] as const) {
      if (byVariety[v].length > 0) {
        actions[v].push({
          handlerName,
          adapter: live.adapter.name,
          handler: live.handler,
          instances: byVariety[v],
        });
      }
    }
  });
  spec.raw('requestHeaderOperations');
  spec.raw('responseHeaderOperations');
  spec.done();
  return { name: fullName(o), namespace: o.namespace, match, actions };
}

function refOrFail(a: FieldReader, field: string, ref: string, namespace: string): string {
  try {
    return resolveRef(ref, namespace);
  } catch (e) {
    return a.fail(field, errorMessage(e));
  }
}

function missing(name: string, broken: ReadonlyMap<string, string>, what: string): string {
  const why = broken.get(name);
  return why === undefined
    ? `${what} ${name} does not exist`
    : `${what} ${name} is invalid (${why})`;
}

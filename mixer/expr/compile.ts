/**
 * Type-checks a syntax tree against the attribute vocabulary and compiles it to a closure, in one
 * walk, when configuration arrives; requests then only call closures.
 *
 * Type rules: an attribute has its vocabulary type (an unknown name is an error); `m[k]` needs a
 * STRING_MAP and a STRING key and gives a STRING; `==`/`!=` compare two values of one type (not
 * maps); `&&`, `||` and `!` take BOOLs; `a | b` needs one type on both sides and gives it;
 * functions as in functions.ts. Literals adapt where Go's untyped constants would: an integer
 * literal may be a DOUBLE, and a string literal that reads as a Go duration ("10ms") is a DURATION
 * unless the other side is a STRING.
 *
 * Absence: a missing attribute or map key makes its expression absent; absence flows through
 * every operator except `|`, which then takes its right side. `&&` and `||` stop early as usual,
 * so attributes after a decisive left side are never read (nor reported as referenced).
 */
import { Duration, ValueType, valuesEqual, type Value } from '../../lib/mixer/value.ts';
import { mapRefKey } from '../../lib/mixer/referenced.ts';
import { vocabulary } from '../../lib/mixer/vocabulary.ts';
import { durationMs, isDuration } from '../../lib/config/values.ts';
import { ExpressionError, type Node } from './ast.ts';
import { functions } from './functions.ts';
import { parseExpression } from './parser.ts';
import type { AttributeReader } from './reader.ts';

export type Evaluator = (r: AttributeReader) => Value | undefined;

export interface CompiledExpression {
  readonly text: string;
  readonly type: ValueType;
  /** The value, or undefined when an attribute it needed was absent. */
  readonly evaluate: Evaluator;
  /** Every attribute name the expression can read. */
  readonly attributes: readonly string[];
  /** The value when the expression reads no attribute at all. */
  readonly constant?: Value;
}

interface Checked {
  readonly type: ValueType;
  readonly fn: Evaluator;
  /** For literals: the same literal as another type, when it can be one. */
  readonly retype?: (t: ValueType) => Checked | undefined;
  readonly constant?: Value;
}

const fastEqual = new Set<ValueType>([
  ValueType.STRING,
  ValueType.INT64,
  ValueType.DOUBLE,
  ValueType.BOOL,
]);

function fail(node: Node, message: string): never {
  throw new ExpressionError(node.pos + 1, message);
}

function constant(type: ValueType, value: Value, retype?: Checked['retype']): Checked {
  return { type, fn: () => value, constant: value, ...(retype ? { retype } : {}) };
}

function literal(node: Extract<Node, { kind: 'literal' }>): Checked {
  const v = node.value;
  switch (node.lit) {
    case 'bool':
      return constant(ValueType.BOOL, v);
    case 'float':
      return constant(ValueType.DOUBLE, v);
    case 'int': {
      if (!Number.isSafeInteger(v)) fail(node, `integer ${String(v)} is too large`);
      return constant(ValueType.INT64, v, (t) =>
        t === ValueType.DOUBLE ? constant(ValueType.DOUBLE, v) : undefined,
      );
    }
    case 'string': {
      const s = String(v);
      const asString = constant(ValueType.STRING, s);
      if (!isDuration(s)) return asString;
      return constant(ValueType.DURATION, new Duration(durationMs(s)), (t) =>
        t === ValueType.STRING ? asString : undefined,
      );
    }
  }
}

/** Makes both sides one type, retyping a literal side if needed. */
function unify(node: Node, a: Checked, b: Checked, what: string): [Checked, Checked] {
  if (a.type === b.type) return [a, b];
  const b2 = b.retype?.(a.type);
  if (b2) return [a, b2];
  const a2 = a.retype?.(b.type);
  if (a2) return [a2, b];
  return fail(node, `${what} needs one type on both sides, got ${a.type} and ${b.type}`);
}

function expectType(node: Node, c: Checked, t: ValueType, what: string): Checked {
  if (c.type === t) return c;
  const r = c.retype?.(t);
  if (r) return r;
  return fail(node, `${what} must be ${t}, got ${c.type}`);
}

class Compiler {
  readonly attributes = new Set<string>();
  private readonly types: ReadonlyMap<string, ValueType>;

  constructor(types: ReadonlyMap<string, ValueType>) {
    this.types = types;
  }

  check(node: Node): Checked {
    switch (node.kind) {
      case 'literal':
        return literal(node);
      case 'attribute': {
        const type = this.types.get(node.name);
        if (type === undefined) fail(node, `unknown attribute ${node.name}`);
        this.attributes.add(node.name);
        const name = node.name;
        return { type, fn: (r) => r.get(name) };
      }
      case 'index':
        return this.index(node);
      case 'call':
        return this.call(node);
      case 'not': {
        const o = expectType(node, this.check(node.operand), ValueType.BOOL, 'the operand of "!"');
        const f = o.fn;
        return {
          type: ValueType.BOOL,
          fn: (r) => {
            const v = f(r);
            return v === undefined ? undefined : !v;
          },
        };
      }
      case 'binary':
        return this.binary(node);
    }
  }

  private index(node: Extract<Node, { kind: 'index' }>): Checked {
    const target = this.check(node.target);
    if (target.type !== ValueType.STRING_MAP) {
      fail(node, `only a STRING_MAP can be indexed, got ${target.type}`);
    }
    const key = expectType(node, this.check(node.key), ValueType.STRING, 'a map key');
    const kf = key.fn;
    if (node.target.kind === 'attribute') {
      const name = node.target.name;
      if (key.constant !== undefined) {
        const k = key.constant as string;
        // The reference key made once here, not on every read (a TrackingReader files reads by it).
        const ref = mapRefKey(name, k);
        return { type: ValueType.STRING, fn: (r) => r.mapValue(name, k, ref) };
      }
      return {
        type: ValueType.STRING,
        fn: (r) => {
          const k = kf(r);
          return typeof k === 'string' ? r.mapValue(name, k) : undefined;
        },
      };
    }
    const tf = target.fn;
    return {
      type: ValueType.STRING,
      fn: (r) => {
        const m = tf(r);
        const k = kf(r);
        if (!(m instanceof Map) || typeof k !== 'string') return undefined;
        return (m as ReadonlyMap<string, string>).get(k);
      },
    };
  }

  private call(node: Extract<Node, { kind: 'call' }>): Checked {
    const def = functions.get(node.fn);
    if (def === undefined) {
      fail(node, `unknown function ${node.fn} (known: ${[...functions.keys()].join(', ')})`);
    }
    if (node.args.length !== def.params.length) {
      fail(
        node,
        `${node.fn}() takes ${String(def.params.length)} argument(s), got ${String(node.args.length)}`,
      );
    }
    const args = node.args.map((a, i) =>
      expectType(
        a,
        this.check(a),
        def.params[i] as ValueType,
        `argument ${String(i + 1)} of ${node.fn}()`,
      ),
    );
    if (args.every((a) => a.constant !== undefined)) {
      const v = def.impl(args.map((a) => a.constant as Value));
      if (v === undefined) fail(node, `${node.fn}() needs ${def.describe}`);
      return constant(def.returns, v);
    }
    const fns = args.map((a) => a.fn);
    const impl = def.impl;
    return {
      type: def.returns,
      fn: (r) => {
        const vals: Value[] = [];
        for (const f of fns) {
          const v = f(r);
          if (v === undefined) return undefined;
          vals.push(v);
        }
        return impl(vals);
      },
    };
  }

  private binary(node: Extract<Node, { kind: 'binary' }>): Checked {
    const l0 = this.check(node.left);
    const r0 = this.check(node.right);
    switch (node.op) {
      case '&&':
      case '||': {
        const l = expectType(node.left, l0, ValueType.BOOL, `the left side of "${node.op}"`).fn;
        const r = expectType(node.right, r0, ValueType.BOOL, `the right side of "${node.op}"`).fn;
        const and = node.op === '&&';
        return {
          type: ValueType.BOOL,
          fn: (rd) => {
            const a = l(rd);
            if (a === undefined) return undefined;
            if (a === !and) return a;
            return r(rd);
          },
        };
      }
      case '==':
      case '!=': {
        const [l, r] = unify(node, l0, r0, `"${node.op}"`);
        if (l.type === ValueType.STRING_MAP)
          fail(node, 'string maps cannot be compared; index them');
        const lf = l.fn;
        const rf = r.fn;
        const neg = node.op === '!=';
        const eq = fastEqual.has(l.type) ? (a: Value, b: Value) => a === b : valuesEqual;
        return {
          type: ValueType.BOOL,
          fn: (rd) => {
            const a = lf(rd);
            if (a === undefined) return undefined;
            const b = rf(rd);
            if (b === undefined) return undefined;
            return eq(a, b) !== neg;
          },
        };
      }
      case '|': {
        const [l, r] = unify(node, l0, r0, '"|"');
        const lf = l.fn;
        const rf = r.fn;
        return {
          type: l.type,
          fn: (rd) => {
            const a = lf(rd);
            return a === undefined ? rf(rd) : a;
          },
        };
      }
    }
  }
}

/**
 * Parses, type-checks and compiles `text`. `expected` lists the types the result may have (a
 * literal adapts when it can); throws ExpressionError naming the column.
 */
export function compileExpression(
  text: string,
  options: { expected?: readonly ValueType[]; types?: ReadonlyMap<string, ValueType> } = {},
): CompiledExpression {
  const compiler = new Compiler(options.types ?? vocabulary);
  const tree = parseExpression(text);
  let c = compiler.check(tree);
  const expected = options.expected;
  if (expected !== undefined && !expected.includes(c.type)) {
    const r = expected.map((t) => c.retype?.(t)).find((x) => x !== undefined);
    if (r === undefined) {
      throw new ExpressionError(1, `must be ${expected.join(' or ')}, got ${c.type}`);
    }
    c = r;
  }
  return {
    text,
    type: c.type,
    evaluate: c.fn,
    attributes: [...compiler.attributes],
    ...(c.constant !== undefined ? { constant: c.constant } : {}),
  };
}

/**
 * The expression language's syntax tree. Expressions are Go-like, as in Istio 0.2: attribute
 * names (`source.labels`), literals, `x["key"]`, calls (`ip("10.0.0.1")`, `match(a, "b*")`), `!`,
 * and the binary operators, loosest first: `||`, `&&`, `==`/`!=`, `|` (use the right side when the
 * left is absent).
 */
export type BinaryOp = '||' | '&&' | '==' | '!=' | '|';

export type LiteralKind = 'string' | 'int' | 'float' | 'bool';

export type Node =
  | { readonly kind: 'attribute'; readonly name: string; readonly pos: number }
  | {
      readonly kind: 'literal';
      readonly lit: LiteralKind;
      readonly value: string | number | boolean;
      readonly pos: number;
    }
  | { readonly kind: 'index'; readonly target: Node; readonly key: Node; readonly pos: number }
  | {
      readonly kind: 'call';
      readonly fn: string;
      readonly args: readonly Node[];
      readonly pos: number;
    }
  | { readonly kind: 'not'; readonly operand: Node; readonly pos: number }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly left: Node;
      readonly right: Node;
      readonly pos: number;
    };

/** A parse or type error at a 1-based column of the expression text. */
export class ExpressionError extends Error {
  readonly column: number;

  constructor(column: number, message: string) {
    super(`column ${String(column)}: ${message}`);
    this.name = 'ExpressionError';
    this.column = column;
  }
}

/**
 * Text → syntax tree (ast.ts). A hand-written lexer and precedence-climbing parser; every error
 * names the column and what was expected.
 */
import { ExpressionError, type BinaryOp, type Node } from './ast.ts';

type Token =
  | { readonly t: 'ident'; readonly v: string; readonly pos: number }
  | { readonly t: 'string'; readonly v: string; readonly pos: number }
  | { readonly t: 'int' | 'float'; readonly v: number; readonly text: string; readonly pos: number }
  | { readonly t: 'op'; readonly v: string; readonly pos: number }
  | { readonly t: 'end'; readonly pos: number };

const ops = ['||', '&&', '==', '!=', '|', '!', '(', ')', '[', ']', ',', '.'];

function lex(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text.charAt(i))) i++;
      out.push({ t: 'ident', v: text.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < text.length && /[0-9]/.test(text.charAt(i))) i++;
      let isFloat = false;
      if (text.charAt(i) === '.' && /[0-9]/.test(text.charAt(i + 1))) {
        isFloat = true;
        i++;
        while (i < text.length && /[0-9]/.test(text.charAt(i))) i++;
      }
      if (/[eE]/.test(text.charAt(i))) {
        const m = /^[eE][+-]?[0-9]+/.exec(text.slice(i));
        if (m) {
          isFloat = true;
          i += m[0].length;
        }
      }
      if (/[A-Za-z_]/.test(text.charAt(i))) {
        throw new ExpressionError(start + 1, `invalid number "${text.slice(start, i + 1)}"`);
      }
      const s = text.slice(start, i);
      out.push({ t: isFloat ? 'float' : 'int', v: Number(s), text: s, pos: start });
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      out.push({ t: 'string', v: lexString(text, start, c), pos: start });
      i = skipString(text, start, c);
      continue;
    }
    const op = ops.find((o) => text.startsWith(o, i));
    if (op === undefined) throw new ExpressionError(start + 1, `unexpected character "${c}"`);
    out.push({ t: 'op', v: op, pos: start });
    i += op.length;
  }
  out.push({ t: 'end', pos: text.length });
  return out;
}

function skipString(text: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '\\' && quote !== '`') i += 2;
    else if (c === quote) return i + 1;
    else i++;
  }
  throw new ExpressionError(start + 1, 'unterminated string');
}

const escapes: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  '"': '"',
  "'": "'",
  '0': '\0',
};

function lexString(text: string, start: number, quote: string): string {
  const end = skipString(text, start, quote) - 1;
  const body = text.slice(start + 1, end);
  if (quote === '`') return body;
  return body.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (m, e: string, off: number) => {
    if (e.startsWith('u') && e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    const r = escapes[e];
    if (r === undefined) throw new ExpressionError(start + 2 + off, `unknown escape ${m}`);
    return r;
  });
}

const precedence: Readonly<Record<string, number>> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '|': 4 };

class Parser {
  private readonly tokens: Token[];
  private i = 0;

  constructor(text: string) {
    this.tokens = lex(text);
  }

  private peek(): Token {
    return this.tokens[this.i] ?? { t: 'end', pos: 0 };
  }

  private next(): Token {
    const t = this.peek();
    this.i++;
    return t;
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }

  private expect(v: string, what: string): void {
    const t = this.peek();
    if (t.t !== 'op' || t.v !== v)
      throw new ExpressionError(t.pos + 1, `expected ${what}, got ${describe(t)}`);
    this.i++;
  }

  parse(): Node {
    if (this.peek().t === 'end') throw new ExpressionError(1, 'empty expression');
    const n = this.binary(1);
    const t = this.peek();
    if (t.t !== 'end') throw new ExpressionError(t.pos + 1, `unexpected ${describe(t)}`);
    return n;
  }

  private binary(min: number): Node {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      const p = t.t === 'op' ? precedence[t.v] : undefined;
      if (p === undefined || p < min) return left;
      this.i++;
      const right = this.binary(p + 1);
      left = { kind: 'binary', op: (t as { v: BinaryOp }).v, left, right, pos: t.pos };
    }
  }

  private unary(): Node {
    const t = this.peek();
    if (t.t === 'op' && t.v === '!') {
      this.i++;
      return { kind: 'not', operand: this.unary(), pos: t.pos };
    }
    return this.postfix();
  }

  private postfix(): Node {
    let n = this.primary();
    while (this.isOp('[')) {
      const pos = this.next().pos;
      const key = this.binary(1);
      this.expect(']', '"]"');
      n = { kind: 'index', target: n, key, pos };
    }
    return n;
  }

  private primary(): Node {
    const t = this.next();
    switch (t.t) {
      case 'string':
        return { kind: 'literal', lit: 'string', value: t.v, pos: t.pos };
      case 'int':
      case 'float':
        return { kind: 'literal', lit: t.t, value: t.v, pos: t.pos };
      case 'ident':
        return this.identifier(t.v, t.pos);
      case 'op':
        if (t.v === '(') {
          const n = this.binary(1);
          this.expect(')', '")"');
          return n;
        }
        throw new ExpressionError(t.pos + 1, `unexpected ${describe(t)}`);
      case 'end':
        throw new ExpressionError(t.pos + 1, 'unexpected end of expression');
    }
  }

  private identifier(first: string, pos: number): Node {
    if (this.isOp('(')) {
      this.i++;
      const args: Node[] = [];
      if (!this.isOp(')')) {
        for (;;) {
          args.push(this.binary(1));
          if (!this.isOp(',')) break;
          this.i++;
        }
      }
      this.expect(')', '")" or ","');
      return { kind: 'call', fn: first, args, pos };
    }
    if (first === 'true' || first === 'false') {
      return { kind: 'literal', lit: 'bool', value: first === 'true', pos };
    }
    let name = first;
    while (this.isOp('.')) {
      this.i++;
      const part = this.next();
      if (part.t !== 'ident') {
        throw new ExpressionError(part.pos + 1, `expected a name after ".", got ${describe(part)}`);
      }
      name += `.${part.v}`;
    }
    return { kind: 'attribute', name, pos };
  }
}

function describe(t: Token): string {
  switch (t.t) {
    case 'end':
      return 'end of expression';
    case 'string':
      return `string ${JSON.stringify(t.v)}`;
    case 'int':
    case 'float':
      return `number ${t.text}`;
    case 'ident':
      return `name "${t.v}"`;
    case 'op':
      return `"${t.v}"`;
  }
}

export function parseExpression(text: string): Node {
  return new Parser(text).parse();
}

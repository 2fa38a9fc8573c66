/**
 * `payloadTemplate` of the stackdriver adapter's logInfo: Istio 0.2 ran it as a Go text/template
 * over the logentry's variables. This is the part of that language its configs use, parsed once
 * when config arrives (anything else is refused, naming what): text, `{{.name}}`,
 * `{{.name.Format "layout"}}` for timestamps (Go's reference-time layouts, in UTC), and
 * `{{or A B …}}` (the first non-empty of its arguments, each `.name`, `(.name…)` or a string
 * literal). A variable that is not there prints `<no value>`, as Go's does.
 */
import { formatValue, type Value } from '../../lib/mixer/value.ts';

type Term =
  | { readonly kind: 'var'; readonly name: string; readonly layout?: string }
  | { readonly kind: 'text'; readonly text: string };

type Piece = Term | { readonly kind: 'or'; readonly terms: readonly Term[] };

export interface PayloadTemplate {
  readonly text: string;
  render(variables: ReadonlyMap<string, Value>): string;
}

const token =
  /\s*(\(|\)|"(?:[^"\\]|\\.)*"|`[^`]*`|\.[A-Za-z_][A-Za-z0-9_]*(?:\.Format)?|[A-Za-z]+)/y;

function tokens(action: string): string[] {
  const out: string[] = [];
  token.lastIndex = 0;
  while (token.lastIndex < action.trimEnd().length) {
    const m = token.exec(action);
    if (!m) throw new Error(`{{${action}}}: cannot read "${action.slice(token.lastIndex).trim()}"`);
    out.push(m[1] ?? '');
  }
  return out;
}

function literal(t: string): string {
  return t.startsWith('`') ? t.slice(1, -1) : (JSON.parse(t) as string);
}

/** One term from `toks` at `i`: returns it and the next index. */
function term(toks: readonly string[], i: number, action: string): [Term, number] {
  const t = toks[i] ?? '';
  const fail = (why: string): never => {
    throw new Error(`{{${action}}}: ${why}`);
  };
  if (t === '(') {
    const [inner, next] = term(toks, i + 1, action);
    if (toks[next] !== ')') fail('a ( without its )');
    return [inner, next + 1];
  }
  if (t.startsWith('"') || t.startsWith('`')) return [{ kind: 'text', text: literal(t) }, i + 1];
  if (t.startsWith('.')) {
    if (t.endsWith('.Format')) {
      const layout = toks[i + 1] ?? '';
      if (!layout.startsWith('"') && !layout.startsWith('`')) fail('.Format needs a layout string');
      return [{ kind: 'var', name: t.slice(1, -'.Format'.length), layout: literal(layout) }, i + 2];
    }
    return [{ kind: 'var', name: t.slice(1) }, i + 1];
  }
  return fail(`"${t}" is not supported (only .name, .name.Format "layout", or, and strings)`);
}

function parseAction(action: string): Piece {
  const toks = tokens(action);
  if (toks[0] === 'or') {
    const terms: Term[] = [];
    let i = 1;
    while (i < toks.length) {
      const [t, next] = term(toks, i, action);
      terms.push(t);
      i = next;
    }
    if (terms.length === 0) throw new Error(`{{${action}}}: or needs arguments`);
    return { kind: 'or', terms };
  }
  const [t, next] = term(toks, 0, action);
  if (next !== toks.length) throw new Error(`{{${action}}}: one value per action (or use "or")`);
  return t;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const months = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Go's layout elements, longest first, each with how it prints a UTC time. */
const layoutElements: [string, (d: Date) => string][] = [
  ['January', (d) => months[d.getUTCMonth()] ?? ''],
  ['Monday', (d) => days[d.getUTCDay()] ?? ''],
  ['Z07:00', () => 'Z'],
  ['-07:00', () => '+00:00'],
  ['Z0700', () => 'Z'],
  ['-0700', () => '+0000'],
  ['.000000000', (d) => `.${pad(d.getUTCMilliseconds(), 3)}000000`],
  ['.000000', (d) => `.${pad(d.getUTCMilliseconds(), 3)}000`],
  ['.000', (d) => `.${pad(d.getUTCMilliseconds(), 3)}`],
  ['2006', (d) => String(d.getUTCFullYear())],
  ['Jan', (d) => (months[d.getUTCMonth()] ?? '').slice(0, 3)],
  ['Mon', (d) => (days[d.getUTCDay()] ?? '').slice(0, 3)],
  ['MST', () => 'UTC'],
  ['01', (d) => pad(d.getUTCMonth() + 1)],
  ['02', (d) => pad(d.getUTCDate())],
  ['_2', (d) => String(d.getUTCDate()).padStart(2, ' ')],
  ['15', (d) => pad(d.getUTCHours())],
  ['03', (d) => pad(d.getUTCHours() % 12 || 12)],
  ['04', (d) => pad(d.getUTCMinutes())],
  ['05', (d) => pad(d.getUTCSeconds())],
  ['06', (d) => pad(d.getUTCFullYear() % 100)],
  ['PM', (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM')],
  ['pm', (d) => (d.getUTCHours() < 12 ? 'am' : 'pm')],
];

/** A time in a Go reference-time layout (`02/Jan/2006:15:04:05 -0700`), in UTC. */
export function formatGoTime(d: Date, layout: string): string {
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    for (const [el, f] of layoutElements) {
      if (layout.startsWith(el, i)) {
        out += f(d);
        i += el.length;
        continue outer;
      }
    }
    out += layout[i] ?? '';
    i++;
  }
  return out;
}

function show(v: Value | undefined, layout: string | undefined): string {
  if (v === undefined) return '<no value>';
  if (layout !== undefined && v instanceof Date) return formatGoTime(v, layout);
  return formatValue(v);
}

/** Go's truthiness, for `or`: empty strings, 0, false and absent values are empty. */
function empty(v: Value | undefined): boolean {
  return v === undefined || v === '' || v === 0 || v === false;
}

function value(t: Term, vars: ReadonlyMap<string, Value>): Value | undefined {
  return t.kind === 'text' ? t.text : vars.get(t.name);
}

function renderTerm(t: Term, vars: ReadonlyMap<string, Value>): string {
  return t.kind === 'text' ? t.text : show(vars.get(t.name), t.layout);
}

/** Parses a payload template; throws an Error saying which action is not supported. */
export function parsePayloadTemplate(text: string): PayloadTemplate {
  const pieces: Piece[] = [];
  let rest = text;
  while (rest !== '') {
    const open = rest.indexOf('{{');
    if (open < 0) {
      pieces.push({ kind: 'text', text: rest });
      break;
    }
    if (open > 0) pieces.push({ kind: 'text', text: rest.slice(0, open) });
    const close = rest.indexOf('}}', open);
    if (close < 0)
      throw new Error(
        `an action opened with {{ at ${String(text.length - rest.length + open)} is never closed`,
      );
    pieces.push(parseAction(rest.slice(open + 2, close).replace(/^-\s|\s-$/g, '')));
    rest = rest.slice(close + 2);
  }
  return {
    text,
    render(vars) {
      let out = '';
      for (const p of pieces) {
        if (p.kind !== 'or') {
          out += renderTerm(p, vars);
          continue;
        }
        const hit = p.terms.find((t) => !empty(value(t, vars))) ?? p.terms[p.terms.length - 1];
        out += hit === undefined ? '' : renderTerm(hit, vars);
      }
      return out;
    },
  };
}

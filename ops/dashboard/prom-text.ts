/**
 * Prometheus' text exposition format (what `/metrics` serves), read into samples: `name{label="v"}
 * value`. Comments and blank lines are skipped; a line that does not read is an error naming it.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function readLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  for (;;) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!m || text[i + m[0].length] !== '=' || text[i + m[0].length + 1] !== '"') {
      throw new IstioLiteError(ErrorCode.External, `metrics: cannot read labels of "${line}"`);
    }
    i += m[0].length + 2;
    let value = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const next = text[i + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        i += 2;
      } else {
        value += text[i] ?? '';
        i++;
      }
    }
    if (i >= text.length) {
      throw new IstioLiteError(
        ErrorCode.External,
        `metrics: unterminated label value in "${line}"`,
      );
    }
    labels[m[0]] = value;
    i++;
  }
}

function readValue(s: string): number {
  switch (s) {
    case '+Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
    default:
      return Number(s);
  }
}

/** The samples of the metrics named in `only` (all when absent). */
export function parsePromText(text: string, only?: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const name = nameRe.exec(line)?.[0];
    if (name === undefined)
      throw new IstioLiteError(ErrorCode.External, `metrics: cannot read "${line}"`);
    if (only && !only.has(name)) continue;
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = readLabels(rest, line));
    const value = readValue(rest.trim().split(/\s+/)[0] ?? '');
    if (Number.isNaN(value) && rest.trim().split(/\s+/)[0] !== 'NaN') {
      throw new IstioLiteError(ErrorCode.External, `metrics: "${line}" has no value`);
    }
    out.push({ name, labels, value });
  }
  return out;
}

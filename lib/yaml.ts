/**
 * Multi-document YAML in and out. Parse errors name the source, the document (1-based) and the line,
 * so a user can find the mistake in a file of many documents. Documents keep their order; empty
 * documents (a stray `---`) are dropped, as kubectl does.
 */
import { parseAllDocuments, stringify, LineCounter } from 'yaml';
import { ErrorCode, IstioLiteError } from './errors.ts';
import type { JsonValue } from './json.ts';

export interface YamlDocument {
  /** 1-based position of the document in its stream. */
  readonly index: number;
  /** 1-based line where the document starts. */
  readonly line: number;
  readonly value: JsonValue;
}

export function parseYamlDocuments(text: string, source = 'input'): YamlDocument[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const out: YamlDocument[] = [];
  docs.forEach((doc, i) => {
    const start = doc.contents?.range[0] ?? doc.range[0];
    const docLine = lineCounter.linePos(start).line;
    const err = doc.errors[0];
    if (err) throw yamlError(source, i + 1, lineCounter.linePos(err.pos[0]).line, err.message);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    out.push({ index: i + 1, line: docLine, value: value as JsonValue });
  });
  return out;
}

function yamlError(source: string, doc: number, line: number, message: string): IstioLiteError {
  const first = message.split('\n')[0] ?? message;
  return new IstioLiteError(
    ErrorCode.InvalidInput,
    `${source}: document ${doc}, line ${line}: invalid YAML: ${first}`,
  );
}

/** Parse exactly one YAML (or JSON) document. */
export function parseYamlDocument(text: string, source = 'input'): JsonValue {
  const docs = parseYamlDocuments(text, source);
  if (docs.length > 1) {
    throw new IstioLiteError(
      ErrorCode.InvalidInput,
      `${source}: expected one YAML document, found ${docs.length}`,
    );
  }
  return docs[0]?.value ?? null;
}

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map((v) => toYaml(v)).join('---\n');
}

/**
 * The report of `istio-lite analyze`: findings in scope (the namespaces asked for, and everything
 * from the files), one per line as istioctl prints them with the field and a `fix:` line, or as
 * JSON/YAML; and the exit code a CI job gates on.
 */
import { Severities, compareFindings, type Finding, type Severity } from '../lib/analysis.ts';
import { toYaml } from '../lib/yaml.ts';
import { objectKey } from './analyze-input.ts';

/** istioctl's exit code when analysis finds problems at or above the threshold. */
export const FoundProblemsExitCode = 79;

export interface Scope {
  /** Every namespace (`-A`), else these. */
  readonly all: boolean;
  readonly namespaces: ReadonlySet<string>;
}

export function inScope(f: Finding, scope: Scope, sources: ReadonlyMap<string, string>): boolean {
  if (scope.all) return true;
  const key = objectKey(f.object.kind, f.object.namespace, f.object.name);
  if ((sources.get(key) ?? 'cluster') !== 'cluster') return true;
  if (f.object.namespace === '')
    return f.object.kind === 'Namespace' && scope.namespaces.has(f.object.name);
  return scope.namespaces.has(f.object.namespace);
}

export function withSources(
  findings: readonly Finding[],
  sources: ReadonlyMap<string, string>,
): Finding[] {
  return findings
    .map((f) => ({
      ...f,
      source: sources.get(objectKey(f.object.kind, f.object.namespace, f.object.name)) ?? 'cluster',
    }))
    .sort(compareFindings);
}

function objectText(f: Finding): string {
  const o = f.object;
  return `${o.kind} ${o.namespace === '' ? '' : `${o.namespace}/`}${o.name}`;
}

export function reportText(findings: readonly Finding[], where: string): string {
  if (findings.length === 0) return `no problems found (${where})\n`;
  const lines = findings.map((f) => {
    const from = f.source !== undefined && f.source !== 'cluster' ? ` [${f.source}]` : '';
    const field = f.field === undefined ? '' : `${f.field}: `;
    return `${f.severity} [${f.code}] (${objectText(f)})${from} ${field}${f.message}\n    fix: ${f.hint}`;
  });
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  const summary = Severities.map(
    (s) => `${String(count(s))} ${s.toLowerCase()}${count(s) === 1 ? '' : 's'}`,
  ).join(', ');
  return `${lines.join('\n')}\n${summary} (${where})\n`;
}

export function reportData(findings: readonly Finding[], format: 'json' | 'yaml'): string {
  const data = findings.map((f) => ({
    code: f.code,
    severity: f.severity,
    kind: f.object.kind,
    namespace: f.object.namespace,
    name: f.object.name,
    field: f.field ?? null,
    message: f.message,
    hint: f.hint,
    source: f.source ?? 'cluster',
  }));
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : toYaml(data);
}

/** Whether a finding is at or above the threshold (Error > Warning > Info). */
export function fails(f: Finding, threshold: Severity): boolean {
  return Severities.indexOf(f.severity) <= Severities.indexOf(threshold);
}

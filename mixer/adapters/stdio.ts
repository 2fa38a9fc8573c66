/**
 * `stdio`: log entries (and metrics) as JSON lines on Mixer's standard output or error, or
 * appended to a file. Spec: `logStream` (STDOUT, STDERR, FILE with `outputPath`),
 * `severityLevels` (severity text → INFO | WARNING | ERROR), `metricLevel`, `outputLevel` (the
 * least level written), `outputAsJson` (default true; false writes `time level instance k=v`).
 * One write per report batch.
 */
import { createWriteStream } from 'node:fs';
import { jsonValue, formatValue } from '../../lib/mixer/value.ts';
import type { Adapter, ReportInstance } from '../adapter.ts';

const Level = ['INFO', 'WARNING', 'ERROR'] as const;
type Level = (typeof Level)[number];
const Stream = ['STDOUT', 'STDERR', 'FILE'] as const;

const defaultSeverities: Readonly<Record<string, Level>> = {
  INFORMATIONAL: 'INFO',
  INFO: 'INFO',
  WARNING: 'WARNING',
  WARN: 'WARNING',
  ERROR: 'ERROR',
  ERR: 'ERROR',
  FATAL: 'ERROR',
};

export const stdio: Adapter = {
  name: 'stdio',
  description: 'Writes log entries and metrics as JSON lines to stdout, stderr or a file.',
  templates: ['logentry', 'metric'],
  create(spec, env) {
    const streamKind = spec.oneOf('logStream', Stream, 'STDOUT');
    const outputPath = spec.string('outputPath', '');
    if (streamKind === 'FILE' && outputPath === '')
      spec.fail('outputPath', 'is required with logStream FILE');
    const severities = new Map<string, Level>();
    for (const [k, v] of spec.stringMap('severityLevels')) {
      if (!(Level as readonly string[]).includes(v))
        spec.fail(`severityLevels.${k}`, `must be one of ${Level.join(', ')}`);
      severities.set(k, v as Level);
    }
    const metricLevel = spec.oneOf('metricLevel', Level, 'INFO');
    const outputLevel = spec.oneOf('outputLevel', Level, 'INFO');
    const asJson = spec.boolean('outputAsJson', true);
    for (const k of ['maxMegabytesBeforeRotation', 'maxDaysBeforeRotation', 'maxRotatedFiles'])
      spec.raw(k);
    spec.done();

    const out: NodeJS.WritableStream =
      streamKind === 'STDOUT'
        ? env.stdout
        : streamKind === 'STDERR'
          ? env.stderr
          : createWriteStream(outputPath, { flags: 'a' });
    const levelOf = (severity: string): Level =>
      severities.get(severity) ?? defaultSeverities[severity.toUpperCase()] ?? 'INFO';
    const least = Level.indexOf(outputLevel);

    const line = (i: ReportInstance): string | undefined => {
      if (i.template === 'reportnothing') return undefined;
      const level = i.template === 'logentry' ? levelOf(i.severity) : metricLevel;
      if (Level.indexOf(level) < least) return undefined;
      const time = i.template === 'logentry' ? i.timestamp : new Date(env.now());
      const fields = i.template === 'logentry' ? i.variables : i.dimensions;
      if (!asJson) {
        const kv = [...fields].map(([k, v]) => `${k}=${formatValue(v)}`);
        if (i.template === 'metric') kv.unshift(`value=${formatValue(i.value)}`);
        return `${time.toISOString()}\t${level.toLowerCase()}\t${i.name}\t${kv.join(' ')}`;
      }
      const rec: Record<string, unknown> = {
        level: level.toLowerCase(),
        time: time.toISOString(),
        instance: i.name,
      };
      if (i.template === 'metric') rec['value'] = jsonValue(i.value);
      for (const [k, v] of fields) if (!(k in rec)) rec[k] = jsonValue(v);
      return JSON.stringify(rec);
    };

    return {
      report(instances) {
        let text = '';
        for (const i of instances) {
          const l = line(i);
          if (l !== undefined) text += `${l}\n`;
        }
        if (text !== '') out.write(text);
      },
      close() {
        if (streamKind === 'FILE') out.end();
      },
    };
  },
};

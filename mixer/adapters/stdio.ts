/**
 * `stdio`: log entries (and metrics) as JSON lines on Mixer's standard output or error, or
 * appended to a file. Spec: `logStream` (STDOUT, STDERR, FILE with `outputPath`),
 * `severityLevels` (severity text → INFO | WARNING | ERROR), `metricLevel`, `outputLevel` (the
 * least level written), `outputAsJson` (default true; false writes `time level instance k=v`).
 *
 * Lines are buffered and written together once per turn of the event loop (or at 64 KiB), so
 * concurrent reports share one write; a report's promise settles once its lines are written, and
 * `flush` writes at once. Severities are mapped once each, and times printed from the previous
 * line's text when they share its second.
 */
import { createWriteStream } from 'node:fs';
import { jsonValue, formatValue } from '../../lib/mixer/value.ts';
import type { Adapter, ReportInstance } from '../adapter.ts';
import { LineBuffer, Memo } from './stdio-buffer.ts';

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
    // Severities come from expressions (often a constant): memoized, bounded.
    const levels = new Memo<Level>(
      (severity) => severities.get(severity) ?? defaultSeverities[severity.toUpperCase()] ?? 'INFO',
      256,
    );
    const levelOf = (severity: string): Level => levels.get(severity);
    const least = Level.indexOf(outputLevel);
    const buffer = new LineBuffer(out);

    const line = (i: ReportInstance): string | undefined => {
      if (i.template === 'reportnothing') return undefined;
      const level = i.template === 'logentry' ? levelOf(i.severity) : metricLevel;
      if (Level.indexOf(level) < least) return undefined;
      const time = i.template === 'logentry' ? i.timestamp : new Date(env.now());
      const fields = i.template === 'logentry' ? i.variables : i.dimensions;
      if (asJson) {
        const rec: Record<string, unknown> = {
          level: level.toLowerCase(),
          time: isoTime(time),
          instance: i.name,
        };
        if (i.template === 'metric') rec['value'] = jsonValue(i.value);
        for (const [k, v] of fields) if (!(k in rec)) rec[k] = jsonValue(v);
        return JSON.stringify(rec);
      }
      const kv = [...fields].map(([k, v]) => `${k}=${formatValue(v)}`);
      if (i.template === 'metric') kv.unshift(`value=${formatValue(i.value)}`);
      return `${time.toISOString()}\t${level.toLowerCase()}\t${i.name}\t${kv.join(' ')}`;
    };

    return {
      report(instances) {
        let text = '';
        for (const i of instances) {
          const l = line(i);
          if (l !== undefined) text += `${l}\n`;
        }
        return text === '' ? undefined : buffer.add(text);
      },
      flush() {
        buffer.flush();
      },
      close() {
        buffer.flush();
        if (streamKind === 'FILE') out.end();
      },
    };
  },
};

/** The time as toISOString gives it; the text up to the second is kept from the last call. */
let lastSecond = NaN;
let lastSecondText = '';

function isoTime(t: Date): string {
  const ms = t.getTime();
  // Years 0 to 9999 have the fixed-width form `YYYY-MM-DDTHH:MM:SS.mmmZ`.
  if (!(ms >= 0 && ms < 253_402_300_800_000)) return t.toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecondText = `${new Date(second * 1000).toISOString().slice(0, 19)}.`;
    lastSecond = second;
  }
  const frac = ms - second * 1000;
  return `${lastSecondText}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${String(frac)}Z`;
}

/**
 * Logs for a person at a terminal (`npm start`): every component's JSON lines go to a file, and
 * only warnings and errors reach the terminal, each as one short readable line, shown once. Later
 * lines with the same message and subject are counted in the file, not repeated on the screen.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import { isObject } from './json.ts';

export interface TerminalLogOptions {
  /** The JSON lines file (its folder is created). */
  readonly file: string;
  /** Receives each line meant for the person (without a newline). */
  readonly show: (line: string) => void;
  /** Level of the file (default LOG_LEVEL, else info). Warnings and errors always reach the terminal. */
  readonly level?: string;
}

const levelNames: Readonly<Record<number, string>> = { 40: 'warning', 50: 'error', 60: 'fatal' };

/** Fields that say what a line is about (an informer, a resource, an address), in this order. */
const subjectFields = ['informer', 'path', 'name', 'address', 'component'] as const;

/** One JSON log line as the short line a person reads, or undefined for lines not meant for them. */
export function readableLine(json: string): { key: string; text: string } | undefined {
  let rec: unknown;
  try {
    rec = JSON.parse(json);
  } catch {
    return { key: json, text: json.trim() };
  }
  if (!isObject(rec) || typeof rec['level'] !== 'number' || rec['level'] < 40) return undefined;
  const level = levelNames[rec['level']] ?? 'warning';
  const msg = typeof rec['msg'] === 'string' ? rec['msg'] : '';
  const subject = subjectFields
    .map((f) => rec[f])
    .find((v): v is string => typeof v === 'string' && v !== '');
  const err = rec['err'];
  const detail =
    typeof err === 'string'
      ? err
      : isObject(err) && typeof err['message'] === 'string'
        ? err['message']
        : undefined;
  const about = subject === undefined ? '' : ` (${subject})`;
  const text = `${level}: ${msg}${about}${detail === undefined ? '' : `: ${firstLine(detail)}`}`;
  return { key: `${level}\u0000${msg}\u0000${subject ?? ''}`, text };
}

function firstLine(s: string): string {
  const line = s.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** A logger whose JSON lines go to `file`, with warnings and errors shown once, readably. */
export function createTerminalLogger(component: string, o: TerminalLogOptions): Logger {
  mkdirSync(dirname(o.file), { recursive: true });
  const shown = new Set<string>();
  const terminal = {
    write(line: string): void {
      const r = readableLine(line);
      if (r === undefined || shown.has(r.key)) return;
      shown.add(r.key);
      o.show(r.text);
    },
  };
  const level = o.level ?? process.env['LOG_LEVEL'] ?? 'info';
  const streams = pino.multistream([
    { level, stream: pino.destination({ dest: o.file, sync: true, append: true }) },
    { level: 'warn', stream: terminal },
  ]);
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime }, streams);
}

/** Flag value checks shared by commands: a bad value is a usage error naming the flag. */
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { durationMs, isDuration } from '../lib/validate.ts';
import type { FlagValues } from './command.ts';

export function usage(message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.Usage, message);
}

export function portFlag(flags: FlagValues, name: string, def: number): number {
  const v = flags[name];
  if (v === undefined) return def;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= 0 && n <= 65535)) throw usage(`--${name}: "${String(v)}" is not a port (0-65535)`);
  return n;
}

export function durationFlag(flags: FlagValues, name: string, def: string): number {
  const v = flags[name] ?? def;
  if (typeof v !== 'string' || !isDuration(v)) {
    throw usage(`--${name}: "${String(v)}" is not a duration like 30s, 10m or 8760h`);
  }
  return durationMs(v);
}

export function oneOfFlag<T extends string>(
  flags: FlagValues,
  name: string,
  allowed: readonly T[],
  def: T,
): T {
  const v = flags[name] ?? def;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw usage(`--${name}: "${String(v)}" must be one of ${allowed.join(', ')}`);
  }
  return v as T;
}

export function listFlag(flags: FlagValues, name: string): string[] {
  const v = flags[name];
  return typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : [];
}

export function stringFlag(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** Resolves when the process gets SIGTERM or SIGINT. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

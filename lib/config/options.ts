/**
 * Command-line options, declared once per service: each option says its flag type, its default,
 * the environment variable it may come from, its help line, and how its value is checked. From
 * one declaration come the node:util parseArgs table, the `--help` text, and the parsed, typed,
 * readonly values: flag, else environment variable, else default. A bad value is a usage error
 * naming the flag (or the variable it came from); nothing falls back to a default silently.
 *
 *   export const pilotOptions = {
 *     port: option.port(15010, 'ADS gRPC port'),
 *     debounce: option.duration('100ms', 'quiet time before a push'),
 *     meshConfig: option.string('mesh config file', { placeholder: 'FILE' }),
 *   } satisfies Options;
 *   const v = parseOptions(pilotOptions, flags, env); // v.port: number, v.meshConfig: string | undefined
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { durationMs, isDuration } from './values.ts';

/** What node:util parseArgs hands back for one flag. */
export type RawValue = string | boolean | (string | boolean)[] | undefined;

export interface Option<T> {
  /** parseArgs type: a value (`--port 15010`) or a switch (`--dry-run`). */
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** Shown after the flag in --help (`N`, `FILE`, `DUR`). */
  readonly placeholder: string;
  readonly help: string;
  /** The default as --help shows it; undefined: none. */
  readonly shownDefault?: string;
  /** An environment variable that gives the value when the flag is absent. */
  readonly env?: string;
  /** Checks and converts the raw value (undefined when neither flag nor env var is set). */
  parse(raw: RawValue, where: string): T;
}

export type Options = Readonly<Record<string, Option<unknown>>>;

/** The parsed values of an option table, one readonly field per option. */
export type OptionValues<O extends Options> = {
  readonly [K in keyof O]: O[K] extends Option<infer T> ? T : never;
};

export function usageError(message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.Usage, message);
}

interface Extra {
  readonly env?: string;
  readonly placeholder?: string;
  readonly short?: string;
}

function single(raw: RawValue): string | undefined {
  if (Array.isArray(raw)) return single(raw[raw.length - 1]);
  return typeof raw === 'string' ? raw : undefined;
}

function valueOption<T>(
  placeholder: string,
  help: string,
  shownDefault: string | undefined,
  extra: Extra,
  parse: (v: string | undefined, where: string) => T,
): Option<T> {
  return {
    type: 'string',
    placeholder: extra.placeholder ?? placeholder,
    help,
    ...(shownDefault === undefined ? {} : { shownDefault }),
    ...(extra.env === undefined ? {} : { env: extra.env }),
    ...(extra.short === undefined ? {} : { short: extra.short }),
    parse: (raw, where) => parse(single(raw), where),
  };
}

const portRe = /^\d{1,5}$/;

function durationValue(value: string, where: string, minMs: number | undefined): number {
  if (!isDuration(value)) {
    throw usageError(`${where}: "${value}" is not a duration like 30s, 10m or 24h`);
  }
  const ms = durationMs(value);
  if (minMs !== undefined && ms < minMs) {
    throw usageError(`${where}: "${value}" is shorter than ${String(minMs / 1000)}s`);
  }
  return ms;
}

/** Builders for the kinds of option every command uses. */
export const option = {
  /** A string; undefined when absent and there is no default. */
  string(help: string, extra: Extra & { check?: (v: string) => string | undefined } = {}) {
    return valueOption<string | undefined>('VALUE', help, undefined, extra, (v, where) => {
      const problem = v === undefined ? undefined : extra.check?.(v);
      if (problem !== undefined) throw usageError(`${where}: "${String(v)}" ${problem}`);
      return v;
    });
  },

  /** A string with a default. */
  text(
    def: string,
    help: string,
    extra: Extra & { check?: (v: string) => string | undefined } = {},
  ) {
    return valueOption<string>('VALUE', help, def, extra, (v, where) => {
      const value = v ?? def;
      const problem = extra.check?.(value);
      if (problem !== undefined) throw usageError(`${where}: "${value}" ${problem}`);
      return value;
    });
  },

  /** A TCP port; 0 picks a free one unless `allowZero` is false. */
  port(def: number, help: string, extra: Extra & { allowZero?: boolean } = {}) {
    const min = extra.allowZero === false ? 1 : 0;
    return valueOption<number>('N', help, String(def), extra, (v, where) => {
      if (v === undefined) return def;
      const n = portRe.test(v) ? Number(v) : NaN;
      if (!(n >= min && n <= 65535)) {
        throw usageError(`${where}: "${v}" is not a port (${String(min)}-65535)`);
      }
      return n;
    });
  },

  /** A Go-style duration (`45s`, `1m0s`, `8760h`), in milliseconds. */
  duration(def: string, help: string, extra: Extra & { minMs?: number } = {}) {
    return valueOption<number>('DUR', help, def, extra, (v, where) =>
      durationValue(v ?? def, where, extra.minMs),
    );
  },

  /** A duration with no default: undefined when absent. */
  optionalDuration(help: string, extra: Extra & { minMs?: number } = {}) {
    return valueOption<number | undefined>('DUR', help, undefined, extra, (v, where) =>
      v === undefined ? undefined : durationValue(v, where, extra.minMs),
    );
  },

  /** One of a fixed set of words. */
  oneOf<const T extends string>(values: readonly T[], def: T, help: string, extra: Extra = {}) {
    return valueOption<T>(values.join('|'), help, def, extra, (v, where) => {
      const value = v ?? def;
      if (!(values as readonly string[]).includes(value)) {
        throw usageError(`${where}: "${value}" is not one of ${values.join(', ')}`);
      }
      return value as T;
    });
  },

  /** `true` or `false` written out (`--mixerFailOpen false`), as Istio's flags are. */
  bool(def: boolean, help: string, extra: Extra = {}) {
    return valueOption<boolean>('true|false', help, String(def), extra, (v, where) => {
      if (v === undefined) return def;
      if (v === 'true') return true;
      if (v === 'false') return false;
      throw usageError(`${where}: "${v}" must be true or false`);
    });
  },

  /** A switch: present or not (`--dry-run`). */
  flag(help: string, extra: { readonly short?: string } = {}): Option<boolean> {
    return {
      type: 'boolean',
      placeholder: '',
      help,
      ...(extra.short === undefined ? {} : { short: extra.short }),
      parse: (raw) => raw === true || (Array.isArray(raw) && raw.includes(true)),
    };
  },

  /** A comma-separated list (`--exclude-namespaces a,b`); empty items are dropped. */
  list(def: readonly string[], help: string, extra: Extra = {}) {
    const shown = def.length === 0 ? undefined : def.join(',');
    return valueOption<readonly string[]>('A,B', help, shown, extra, (v) =>
      v === undefined
        ? def
        : v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    );
  },

  /** A flag that may be repeated (`-f a.yaml -f b.yaml`). */
  repeated(help: string, extra: Extra = {}): Option<readonly string[]> {
    return {
      type: 'string',
      multiple: true,
      placeholder: extra.placeholder ?? 'VALUE',
      help,
      ...(extra.short === undefined ? {} : { short: extra.short }),
      parse: (raw) =>
        (Array.isArray(raw) ? raw : [raw]).filter((x): x is string => typeof x === 'string'),
    };
  },

  /** A number in [min, max] (`integer`: whole numbers only). */
  number(
    def: number,
    help: string,
    range: { readonly min: number; readonly max: number; readonly integer?: boolean },
    extra: Extra = {},
  ) {
    return valueOption<number>('N', help, String(def), extra, (v, where) => {
      if (v === undefined) return def;
      const n = v.trim() === '' ? NaN : Number(v);
      const whole = range.integer !== true || Number.isInteger(n);
      if (!Number.isFinite(n) || !whole || n < range.min || n > range.max) {
        const kind = range.integer === true ? 'an integer' : 'a number';
        throw usageError(
          `${where}: "${v}" must be ${kind} from ${String(range.min)} to ${String(range.max)}`,
        );
      }
      return n;
    });
  },

  /** A fraction strictly between 0 and 1 (`0.5`). */
  ratio(def: number, help: string, extra: Extra = {}) {
    return valueOption<number>('R', help, String(def), extra, (v, where) => {
      if (v === undefined) return def;
      const n = v.trim() === '' ? NaN : Number(v);
      if (!Number.isFinite(n) || n <= 0 || n >= 1) {
        throw usageError(`${where}: "${v}" must be a number between 0 and 1`);
      }
      return n;
    });
  },

  /** `host:port` (an IPv6 host in brackets); undefined when absent. */
  hostPort(help: string, extra: Extra = {}) {
    return valueOption<string | undefined>('HOST:PORT', help, undefined, extra, (v, where) => {
      if (v === undefined || v === '') return undefined;
      if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(v)) {
        throw usageError(`${where}: "${v}" is not host:port`);
      }
      return v;
    });
  },
} as const;

/** The parseArgs table of an option table (plus nothing: `--help` is the CLI's). */
export function parseArgsConfig(options: Options): ParseArgsOptionsConfig {
  const out: ParseArgsOptionsConfig = {};
  for (const [name, o] of Object.entries(options)) {
    out[name] = {
      type: o.type,
      ...(o.multiple === true ? { multiple: true } : {}),
      ...(o.short === undefined ? {} : { short: o.short }),
    };
  }
  return out;
}

/** The --help lines of an option table, aligned. */
export function optionsHelp(options: Options): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short === undefined ? '    ' : `-${o.short}, `}--${name}${o.placeholder === '' ? '' : ` ${o.placeholder}`}`;
    const notes = [
      o.env === undefined ? undefined : `env ${o.env}`,
      o.shownDefault === undefined ? undefined : `default ${o.shownDefault}`,
    ].filter((x) => x !== undefined);
    return [flag, notes.length === 0 ? o.help : `${o.help} (${notes.join('; ')})`] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`).join('\n');
}

/** Parses flags (absent: the option's env var, else its default) into typed, readonly values. */
export function parseOptions<O extends Options>(
  options: O,
  flags: Readonly<Record<string, RawValue>>,
  env: NodeJS.ProcessEnv = {},
): OptionValues<O> {
  const out: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(options)) {
    const fromFlag = flags[name];
    if (fromFlag !== undefined || o.env === undefined) {
      out[name] = o.parse(fromFlag, `--${name}`);
      continue;
    }
    const fromEnv = env[o.env];
    out[name] = o.parse(fromEnv === '' ? undefined : fromEnv, `${o.env} (--${name})`);
  }
  return Object.freeze(out) as OptionValues<O>;
}

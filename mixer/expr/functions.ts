/**
 * The functions expressions may call, as data: parameter types, result type and implementation.
 * An implementation returns undefined when its input is unusable (the result is then absent, like
 * a missing attribute); with literal arguments that is a config error instead.
 */
import { IpAddress, ValueType, type Value } from '../../lib/mixer/value.ts';

export interface FunctionDef {
  readonly params: readonly ValueType[];
  readonly returns: ValueType;
  readonly impl: (args: readonly Value[]) => Value | undefined;
  /** What a literal argument must be, for the config error. */
  readonly describe: string;
}

/** Istio's `match`: `prefix*`, `*suffix`, or the exact string. */
export function globMatch(s: string, pattern: string): boolean {
  if (pattern.endsWith('*')) return s.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return s.endsWith(pattern.slice(1));
  return s === pattern;
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export const functions: ReadonlyMap<string, FunctionDef> = new Map<string, FunctionDef>([
  [
    'ip',
    {
      params: [ValueType.STRING],
      returns: ValueType.IP_ADDRESS,
      impl: ([s]) => (typeof s === 'string' ? IpAddress.parse(s) : undefined),
      describe: 'an IPv4 or IPv6 address',
    },
  ],
  [
    'match',
    {
      params: [ValueType.STRING, ValueType.STRING],
      returns: ValueType.BOOL,
      impl: ([s, p]) =>
        typeof s === 'string' && typeof p === 'string' ? globMatch(s, p) : undefined,
      describe: 'a string and a pattern ("prefix*", "*suffix" or exact)',
    },
  ],
  [
    'timestamp',
    {
      params: [ValueType.STRING],
      returns: ValueType.TIMESTAMP,
      impl: ([s]) => {
        if (typeof s !== 'string' || !rfc3339.test(s)) return undefined;
        const d = new Date(s);
        return Number.isNaN(d.getTime()) ? undefined : d;
      },
      describe: 'an RFC 3339 time (2017-10-04T12:00:00Z)',
    },
  ],
]);

/**
 * Attribute values as Mixer and its clients hold them in memory. Each wire type has one JS shape,
 * so a value's kind is known from `typeof`/`instanceof` alone:
 *
 * | ValueType   | JS value                                   |
 * |-------------|--------------------------------------------|
 * | STRING      | string                                     |
 * | INT64       | number (exact up to 2^53)                  |
 * | DOUBLE      | number                                     |
 * | BOOL        | boolean                                    |
 * | TIMESTAMP   | Date (millisecond precision)               |
 * | DURATION    | Duration (milliseconds, fractional)        |
 * | BYTES       | Uint8Array                                 |
 * | IP_ADDRESS  | IpAddress (sent as 4 or 16 bytes)          |
 * | STRING_MAP  | ReadonlyMap<string, string>                |
 */
import { isIP } from 'node:net';

export const ValueType = {
  STRING: 'STRING',
  INT64: 'INT64',
  DOUBLE: 'DOUBLE',
  BOOL: 'BOOL',
  TIMESTAMP: 'TIMESTAMP',
  DURATION: 'DURATION',
  BYTES: 'BYTES',
  IP_ADDRESS: 'IP_ADDRESS',
  STRING_MAP: 'STRING_MAP',
} as const;

export type ValueType = (typeof ValueType)[keyof typeof ValueType];

export type StringMap = ReadonlyMap<string, string>;

/** A length of time; `toString` prints Go's form (`1.5s`, `250ms`), as Istio config writes it. */
export class Duration {
  readonly ms: number;

  constructor(ms: number) {
    this.ms = ms;
  }

  static fromProto(seconds: number, nanos: number): Duration {
    return new Duration(seconds * 1000 + nanos / 1e6);
  }

  toProto(): { seconds: number; nanos: number } {
    const seconds = Math.trunc(this.ms / 1000);
    const nanos = Math.round((this.ms - seconds * 1000) * 1e6);
    return { seconds, nanos };
  }

  equals(o: Duration): boolean {
    return this.ms === o.ms;
  }

  toString(): string {
    return formatDuration(this.ms);
  }
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1) return `${sign}${trim(abs * 1000)}µs`;
  if (abs < 1000) return `${sign}${trim(abs)}ms`;
  let rest = abs / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = `${trim(rest)}s`;
  if (h > 0) return `${sign}${String(h)}h${String(m)}m${s}`;
  if (m > 0) return `${sign}${String(m)}m${s}`;
  return `${sign}${s}`;
}

function trim(n: number): string {
  // An integer prints the same either way; toFixed is the slow part.
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(6)));
}

/** IpAddress.toString's answers, once asked. */
const addressTexts = new WeakMap<IpAddress, string>();

/** An IPv4 or IPv6 address. IPv4 keeps 4 bytes; an IPv4-mapped IPv6 address equals its IPv4. */
export class IpAddress {
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** From 4 or 16 bytes; undefined for any other length. */
  static fromBytes(b: Uint8Array): IpAddress | undefined {
    // Always a copy (b may be a view of a whole request's buffer).
    if (b.length === 4) return new IpAddress(new Uint8Array(b));
    if (b.length !== 16) return undefined;
    if (isV4Mapped(b)) return new IpAddress(new Uint8Array(b.subarray(12)));
    return new IpAddress(new Uint8Array(b));
  }

  /**
   * From text (`10.0.0.1`, `::1`, `::ffff:10.0.0.1`); undefined when it is not an address. The
   * same text gives the same (immutable) instance while it is among the last 1,024 parsed: every
   * request carries its peers' addresses as text.
   */
  static parse(s: string): IpAddress | undefined {
    const known = parsed.get(s);
    if (known !== undefined) return known;
    const family = isIP(s);
    const ip =
      family === 4
        ? new IpAddress(Uint8Array.from(s.split('.').map(Number)))
        : family === 6
          ? IpAddress.fromBytes(parseV6(s))
          : undefined;
    if (ip === undefined) return undefined;
    if (parsed.size >= 1024) parsed.clear();
    parsed.set(s, ip);
    return ip;
  }

  equals(o: IpAddress): boolean {
    if (o.bytes.length !== this.bytes.length) return false;
    for (let i = 0; i < this.bytes.length; i++) if (o.bytes[i] !== this.bytes[i]) return false;
    return true;
  }

  toString(): string {
    // Kept outside the instance (instances do not change), so equal addresses stay deep-equal.
    let text = addressTexts.get(this);
    if (text === undefined) {
      text = this.format();
      addressTexts.set(this, text);
    }
    return text;
  }

  private format(): string {
    const b = this.bytes;
    if (b.length === 4) {
      return `${String(b[0])}.${String(b[1])}.${String(b[2])}.${String(b[3])}`;
    }
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) {
      groups.push((((this.bytes[i] ?? 0) << 8) | (this.bytes[i + 1] ?? 0)).toString(16));
    }
    return compressV6(groups);
  }
}

const parsed = new Map<string, IpAddress>();

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function parseV6(s: string): Uint8Array {
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head = '', rest] = text.split('::');
  const parse = (p: string) => (p === '' ? [] : p.split(':').map((g) => parseInt(g, 16)));
  let groups = parse(head);
  if (rest !== undefined) {
    const back = parse(rest);
    groups = [...groups, ...new Array<number>(8 - groups.length - back.length).fill(0), ...back];
  }
  if (tail.length > 0) groups = [...groups.slice(0, 6), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

function compressV6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

/** Any attribute value (see the table above). */
export type Value =
  string | number | boolean | Date | Duration | IpAddress | Uint8Array | StringMap;

/** Whether two values of the same ValueType are equal (maps by entries, bytes by content). */
export function valuesEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Duration) return b instanceof Duration && a.equals(b);
  if (a instanceof IpAddress) return b instanceof IpAddress && a.equals(b);
  if (a instanceof Uint8Array) {
    return b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  }
  if (!(b instanceof Map)) return false;
  const bm: StringMap = b;
  if (a.size !== bm.size) return false;
  for (const [k, v] of a) if (bm.get(k) !== v) return false;
  return true;
}

/** Text form for labels, log lines and list checks. */
export function formatValue(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Duration || v instanceof IpAddress) return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return JSON.stringify(Object.fromEntries(v));
}

/** A JSON-friendly form (log entries): maps become objects, the rest as `formatValue`. */
export function jsonValue(v: Value): string | number | boolean | Record<string, string> {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Date || v instanceof Duration || v instanceof IpAddress) return formatValue(v);
  if (v instanceof Uint8Array) return formatValue(v);
  return Object.fromEntries(v);
}

/** The ValueType a runtime value has (INT64 for integral numbers, DOUBLE otherwise). */
export function valueTypeOf(v: Value): ValueType {
  if (typeof v === 'string') return ValueType.STRING;
  if (typeof v === 'number') return Number.isInteger(v) ? ValueType.INT64 : ValueType.DOUBLE;
  if (typeof v === 'boolean') return ValueType.BOOL;
  if (v instanceof Date) return ValueType.TIMESTAMP;
  if (v instanceof Duration) return ValueType.DURATION;
  if (v instanceof IpAddress) return ValueType.IP_ADDRESS;
  if (v instanceof Uint8Array) return ValueType.BYTES;
  return ValueType.STRING_MAP;
}

/**
 * A small reader for typed configuration objects: each accessor narrows one field and, when the
 * value is wrong, throws an error naming the full field path (`proxy.resources.limits.cpu`).
 * `done()` rejects fields nobody read, so a typo is an error and never a silent default.
 */
import { ErrorCode, IstioLiteError } from './errors.ts';
import { isObject, type JsonObject, type JsonValue } from './json.ts';

export class FieldReader {
  private readonly seen = new Set<string>();
  readonly obj: JsonObject;
  readonly path: string;
  readonly what: string;

  constructor(value: unknown, path: string, what: string) {
    if (value === undefined || value === null) value = {};
    if (!isObject(value)) throw invalid(what, path || '(root)', 'must be an object');
    this.obj = value;
    this.path = path;
    this.what = what;
  }

  private field(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  private get(key: string): JsonValue | undefined {
    this.seen.add(key);
    const v = this.obj[key];
    return v === null ? undefined : v;
  }

  fail(key: string, message: string): never {
    throw invalid(this.what, this.field(key), message);
  }

  string(key: string, def: string): string {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${describe(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], def: T): T {
    const v = this.get(key);
    if (v === undefined) return def;
    const s = typeof v === 'boolean' ? String(v) : v;
    if (typeof s !== 'string' || !(allowed as readonly string[]).includes(s)) {
      this.fail(key, `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
    }
    return s as T;
  }

  boolean(key: string, def: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${describe(v)}`);
    return v;
  }

  integer(key: string, def: number, min: number, max: number): number {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(key, `must be an integer from ${min} to ${max}, got ${describe(v)}`);
    }
    return v;
  }

  stringList(key: string, def: readonly string[]): readonly string[] {
    const v = this.get(key);
    if (v === undefined) return def;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      this.fail(key, `must be a list of strings, got ${describe(v)}`);
    }
    return v;
  }

  stringMap(key: string): Readonly<Record<string, string>> {
    const v = this.get(key);
    if (v === undefined) return {};
    if (!isObject(v)) this.fail(key, `must be a map of strings, got ${describe(v)}`);
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'string') this.fail(`${key}.${k}`, `must be a string, got ${describe(x)}`);
    }
    return v as Record<string, string>;
  }

  /** A nested object read with its own reader; absent is an empty object. */
  object(key: string): FieldReader {
    const v = this.get(key);
    return new FieldReader(v ?? {}, this.field(key), this.what);
  }

  list(key: string): { reader: (i: number) => FieldReader; length: number } {
    const v = this.get(key);
    if (v === undefined) return { reader: () => this.fail(key, 'missing'), length: 0 };
    if (!Array.isArray(v)) this.fail(key, `must be a list, got ${describe(v)}`);
    return {
      length: v.length,
      reader: (i: number) => new FieldReader(v[i], `${this.field(key)}[${i}]`, this.what),
    };
  }

  raw(key: string): JsonValue | undefined {
    return this.get(key);
  }

  /** Throws on any field that was not read: a typo is never silently ignored. */
  done(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.seen.has(key)) this.fail(key, 'unknown field');
    }
  }
}

export function invalid(what: string, field: string, message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidConfig, `${what}: ${field}: ${message}`);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const durationRe = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** Go-style durations as used in Istio configuration ("45s", "1m0s", "500ms"). */
export function isDuration(s: string): boolean {
  return durationRe.test(s);
}

/** Parse a Go-style duration to milliseconds. */
export function durationMs(s: string): number {
  if (!isDuration(s)) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1e3,
    m: 6e4,
    h: 3.6e6,
  };
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 0);
  }
  return total;
}

const quantityRe = /^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$/;

/** Kubernetes resource quantities ("100m", "128Mi", "2"). */
export function isQuantity(s: string): boolean {
  return quantityRe.test(s) && !Number.isNaN(Number.parseFloat(s));
}

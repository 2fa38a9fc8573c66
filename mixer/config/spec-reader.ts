/**
 * Typed reading of a config object's `spec` (untrusted: it comes from the API server or a file).
 * Istio's configs were read with jsonpb, so both spellings of a field work (`maxAmount` and
 * `max_amount`); user map keys (dimensions, variables) are never renamed. Every error names the
 * field path (`spec.quotas[0].maxAmount`), and `done()` refuses fields nobody read, so a typo is an
 * error, never a silent default.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { isObject, type JsonObject, type JsonValue } from '../../lib/json.ts';
import { describe, durationMs, isDuration } from '../../lib/validate.ts';

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export class SpecError extends IstioLiteError {
  readonly field: string;

  constructor(field: string, message: string) {
    super(ErrorCode.InvalidConfig, `${field}: ${message}`);
    this.field = field;
  }
}

export class SpecReader {
  readonly path: string;
  private readonly obj: JsonObject;
  private readonly seen = new Set<string>();

  constructor(value: unknown, path = 'spec') {
    if (value === undefined || value === null) value = {};
    if (!isObject(value)) throw new SpecError(path, `must be an object, got ${describe(value)}`);
    this.obj = value;
    this.path = path;
  }

  field(key: string): string {
    return `${this.path}.${key}`;
  }

  fail(key: string, message: string): never {
    throw new SpecError(this.field(key), message);
  }

  /** The raw value under `key` or its snake_case spelling. */
  raw(key: string): JsonValue | undefined {
    const alt = snake(key);
    this.seen.add(key);
    this.seen.add(alt);
    const v = this.obj[key] ?? this.obj[alt];
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  string(key: string, def: string): string {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${describe(v)}`);
    return v;
  }

  requiredString(key: string): string {
    const v = this.string(key, '');
    if (v === '') this.fail(key, 'is required');
    return v;
  }

  boolean(key: string, def: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${describe(v)}`);
    return v;
  }

  /** Integers may be written as numbers or numeric strings (int64 in jsonpb). */
  integer(key: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(key);
    if (v === undefined) return def;
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      this.fail(
        key,
        `must be an integer from ${String(min)} to ${String(max)}, got ${describe(v)}`,
      );
    }
    return n;
  }

  number(key: string, def: number, min: number, max: number): number {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !(v >= min && v <= max)) {
      this.fail(key, `must be a number from ${String(min)} to ${String(max)}, got ${describe(v)}`);
    }
    return v;
  }

  /** A Go-style duration ("1s", "500ms") in milliseconds. */
  duration(key: string, defMs: number): number {
    const v = this.raw(key);
    if (v === undefined) return defMs;
    if (typeof v !== 'string' || !isDuration(v)) {
      this.fail(key, `must be a duration like 1s or 500ms, got ${describe(v)}`);
    }
    return durationMs(v);
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], def: T): T {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v === 'number' && Number.isInteger(v) && allowed[v] !== undefined) {
      return allowed[v]; // proto enums may be written as their numbers
    }
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(key, `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
    }
    return v as T;
  }

  stringList(key: string): readonly string[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      this.fail(key, `must be a list of strings, got ${describe(v)}`);
    }
    return v;
  }

  numberList(key: string): readonly number[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) {
      this.fail(key, `must be a list of numbers, got ${describe(v)}`);
    }
    return v;
  }

  /** A map of user keys to strings (keys are kept as written). */
  stringMap(key: string): ReadonlyMap<string, string> {
    const v = this.raw(key);
    if (v === undefined) return new Map();
    if (!isObject(v)) this.fail(key, `must be a map of strings, got ${describe(v)}`);
    const out = new Map<string, string>();
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'number' || typeof x === 'boolean') out.set(k, String(x));
      else if (typeof x === 'string') out.set(k, x);
      else this.fail(`${key}.${k}`, `must be a string, got ${describe(x)}`);
    }
    return out;
  }

  /** A map of user keys to nested objects, each with its own reader. */
  objectMap(key: string): ReadonlyMap<string, SpecReader> {
    const v = this.raw(key);
    if (v === undefined) return new Map();
    if (!isObject(v)) this.fail(key, `must be a map, got ${describe(v)}`);
    return new Map(
      Object.entries(v).map(([k, x]) => [k, new SpecReader(x, `${this.field(key)}.${k}`)]),
    );
  }

  object(key: string): SpecReader {
    return new SpecReader(this.raw(key), this.field(key));
  }

  list(key: string): SpecReader[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(key, `must be a list, got ${describe(v)}`);
    return v.map((x, i) => new SpecReader(x, `${this.field(key)}[${String(i)}]`));
  }

  /** Throws on any field that was not read. */
  done(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.seen.has(key)) this.fail(key, 'unknown field');
    }
  }
}

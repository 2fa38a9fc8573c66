/**
 * The one reader for untrusted configuration objects (files, ConfigMaps, CRD specs from the API
 * server, annotations): each accessor narrows one field and, when the value is wrong, throws a
 * FieldError naming the full field path (`proxy.resources.limits.cpu`, `spec.quotas[0].maxAmount`).
 * `done()` refuses fields nobody read, so a typo is an error and never a silent default.
 *
 * Conventions every accessor follows: an absent field and a `null` one are the same (the default
 * is returned); reading a field marks it read for `done()`, whether or not it is present; a nested
 * reader (`object`, `objectMap`, `list`) carries the options and extends the path.
 */
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { isObject, type JsonObject, type JsonValue } from '../json.ts';
import { describe, durationMs, isDuration } from './values.ts';

/**
 * A configuration value that is wrong. The message is `<what>: <field>: <message>` when the reader
 * was given a `what`, otherwise `<field>: <message>`; the code is InvalidConfig.
 */
export class FieldError extends IstioLiteError {
  /** The full path of the wrong field (`spec.quotas[0].maxAmount`; `(root)` for the document). */
  readonly field: string;
  /** What was being read (`injector config`), when the reader was told. */
  readonly what: string | undefined;

  constructor(field: string, message: string, what?: string) {
    super(ErrorCode.InvalidConfig, what ? `${what}: ${field}: ${message}` : `${field}: ${message}`);
    this.field = field;
    this.what = what || undefined;
  }
}

export interface FieldReaderOptions {
  /**
   * Where the value sits, the prefix of every field path in errors (`spec` gives
   * `spec.route[0].weight`). Default '': the value is a document's root.
   */
  readonly path?: string | undefined;
  /**
   * What is being read (`injector config`, `RouteRule shop/reviews`), put before every error
   * message. Leave it out when the caller names the object itself (Mixer does).
   */
  readonly what?: string | undefined;
  /**
   * Read protobuf JSON the way Istio's Go code did with jsonpb (Mixer's adapter and template
   * specs): a camelCase field is also found under its snake_case spelling (`maxAmount`,
   * `max_amount`; user map keys are never renamed); integers may be numeric strings (int64);
   * `oneOf` takes an enum's number as well as its name; `stringMap` takes numbers and booleans
   * as their strings (a YAML `200`). And, as Mixer always wrote it, the error for a value that is
   * not an object says what it is (`must be an object, got a list`). Default false: strict.
   */
  readonly jsonpb?: boolean | undefined;
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export class FieldReader {
  /** The path of this value (see FieldReaderOptions.path). */
  readonly path: string;
  private readonly what: string | undefined;
  private readonly jsonpb: boolean;
  private readonly obj: JsonObject;
  private readonly seen = new Set<string>();

  /**
   * Reads `value`, which must be an object; `undefined` and `null` read as an empty object.
   * Throws a FieldError naming the path (`(root)` at a document's root) for anything else.
   */
  constructor(value: unknown, options: FieldReaderOptions = {}) {
    this.path = options.path ?? '';
    this.what = options.what;
    this.jsonpb = options.jsonpb ?? false;
    if (value === undefined || value === null) value = {};
    if (!isObject(value)) {
      const got = this.jsonpb ? `, got ${describe(value)}` : '';
      throw new FieldError(this.path || '(root)', `must be an object${got}`, this.what);
    }
    this.obj = value;
  }

  /** The full path of the field `key` (`spec.quotas[0]` + `name`), as errors name it. */
  field(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** Throws a FieldError for the field `key` (which may be a sub-path: `labels.app`, `ports[1]`). */
  fail(key: string, message: string): never {
    throw new FieldError(this.field(key), message, this.what);
  }

  /** The keys present, as written; does not mark them read. */
  keys(): string[] {
    return Object.keys(this.obj);
  }

  /** The raw value of `key` (or, with jsonpb, its snake_case spelling); undefined when absent or null. */
  raw(key: string): JsonValue | undefined {
    this.seen.add(key);
    let v = this.obj[key];
    if (this.jsonpb) {
      const alt = snake(key);
      this.seen.add(alt);
      v ??= this.obj[alt];
    }
    return v === null ? undefined : v;
  }

  /** Whether `key` is present (and not null); marks it read. */
  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  /** A string; `def` when absent. */
  string(key: string, def: string): string {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${describe(v)}`);
    return v;
  }

  /** A string that must be present and not empty. */
  requiredString(key: string): string {
    const v = this.string(key, '');
    if (v === '') this.fail(key, 'is required');
    return v;
  }

  /** true or false; `def` when absent. */
  boolean(key: string, def: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${describe(v)}`);
    return v;
  }

  /** An integer from `min` to `max` (inclusive); `def` when absent (and not checked). */
  integer(key: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(key);
    if (v === undefined) return def;
    const n = this.jsonpb && typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      this.fail(
        key,
        `must be an integer from ${String(min)} to ${String(max)}, got ${describe(v)}`,
      );
    }
    return n;
  }

  /** A finite number from `min` to `max` (inclusive, fractions allowed); `def` when absent. */
  number(key: string, def: number, min: number, max: number): number {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(key, `must be a number from ${String(min)} to ${String(max)}, got ${describe(v)}`);
    }
    return v;
  }

  /** A Go-style duration ("1s", "500ms") in milliseconds; `defMs` when absent. */
  duration(key: string, defMs: number): number {
    const v = this.raw(key);
    if (v === undefined) return defMs;
    if (typeof v !== 'string' || !isDuration(v)) {
      this.fail(key, `must be a duration like 1s or 500ms, got ${describe(v)}`);
    }
    return durationMs(v);
  }

  /**
   * One of `allowed`; `def` when absent. A YAML boolean counts as its string (`true`), and with
   * jsonpb an integer as the enum value at that index (`allowed` must then list the enum in order).
   */
  oneOf<T extends string>(key: string, allowed: readonly T[], def: T): T {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (this.jsonpb && typeof v === 'number' && Number.isInteger(v) && allowed[v] !== undefined) {
      return allowed[v];
    }
    const s = typeof v === 'boolean' ? String(v) : v;
    if (typeof s !== 'string' || !(allowed as readonly string[]).includes(s)) {
      this.fail(key, `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
    }
    return s as T;
  }

  /** A list of strings; `def` (default empty) when absent. */
  stringList(key: string, def: readonly string[] = []): readonly string[] {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      this.fail(key, `must be a list of strings, got ${describe(v)}`);
    }
    return v;
  }

  /** A list of numbers; empty when absent. */
  numberList(key: string): readonly number[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) {
      this.fail(key, `must be a list of numbers, got ${describe(v)}`);
    }
    return v;
  }

  /** A map of user keys (kept as written) to strings; empty when absent. */
  stringMap(key: string): ReadonlyMap<string, string> {
    const v = this.raw(key);
    if (v === undefined) return new Map();
    if (!isObject(v)) this.fail(key, `must be a map of strings, got ${describe(v)}`);
    const out = new Map<string, string>();
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string') out.set(k, x);
      else if (this.jsonpb && (typeof x === 'number' || typeof x === 'boolean')) {
        out.set(k, String(x));
      } else this.fail(`${key}.${k}`, `must be a string, got ${describe(x)}`);
    }
    return out;
  }

  /** A nested object with its own reader (and its own `done()`); absent reads as empty. */
  object(key: string): FieldReader {
    return this.nested(this.raw(key), this.field(key));
  }

  /** A map of user keys (kept as written) to nested objects, each with its own reader. */
  objectMap(key: string): ReadonlyMap<string, FieldReader> {
    const v = this.raw(key);
    if (v === undefined) return new Map();
    if (!isObject(v)) this.fail(key, `must be a map, got ${describe(v)}`);
    return new Map(
      Object.entries(v).map(([k, x]) => [k, this.nested(x, `${this.field(key)}.${k}`)]),
    );
  }

  /** A list of objects, a reader for each (`spec.route[0]`); empty when absent. */
  list(key: string): FieldReader[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(key, `must be a list, got ${describe(v)}`);
    return v.map((x, i) => this.nested(x, `${this.field(key)}[${String(i)}]`));
  }

  /** Throws on the first field present that nothing read: a typo is never silently ignored. */
  done(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.seen.has(key)) this.fail(key, 'unknown field');
    }
  }

  private nested(value: unknown, path: string): FieldReader {
    return new FieldReader(value, { path, what: this.what, jsonpb: this.jsonpb });
  }
}

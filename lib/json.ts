/**
 * JSON values as they arrive from the outside (files, the API server, HTTP bodies), and the small
 * set of narrowing helpers every parser in the project uses. Nothing here trusts its input.
 */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isStringRecord(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** A string map field (labels, annotations); absent or null is empty; anything else is undefined. */
export function stringMap(v: unknown): Readonly<Record<string, string>> | undefined {
  if (v === undefined || v === null) return {};
  return isStringRecord(v) ? v : undefined;
}

/**
 * Deep copy of a JSON value: objects and arrays copied, primitives kept as they are (about 5x
 * faster than structuredClone or a JSON round trip for a pod). An own `__proto__` key (JSON.parse
 * makes one) stays an own key, not the copy's prototype.
 */
export function cloneJson<T extends JsonValue>(v: T): T {
  return copy(v) as T;
}

function copy(v: JsonValue): JsonValue {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(copy);
  const out: JsonObject = {};
  for (const key of Object.keys(v)) {
    const value = copy(v[key] as JsonValue);
    if (key === '__proto__') {
      Object.defineProperty(out, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[key] = value;
  }
  return out;
}

/** The `name` field of a list entry (containers, volumes, env), or '' when it has none. */
export function nameOf(v: JsonValue | undefined): string {
  return isObject(v) && typeof v['name'] === 'string' ? v['name'] : '';
}

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

/** Deep copy of a JSON value (faster than structuredClone for plain JSON trees). */
export function cloneJson<T extends JsonValue>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** The `name` field of a list entry (containers, volumes, env), or '' when it has none. */
export function nameOf(v: JsonValue | undefined): string {
  return isObject(v) && typeof v['name'] === 'string' ? v['name'] : '';
}

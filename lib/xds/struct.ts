/**
 * google.protobuf.Struct to and from plain JSON. protobufjs builds the well-known types with its own
 * (camelCase) field names, `stringValue` and friends, whatever the case of the rest of the root.
 */
export interface StructValue {
  nullValue?: 'NULL_VALUE';
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: Struct;
  listValue?: { values: StructValue[] };
}

export interface Struct {
  fields: Record<string, StructValue>;
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function valueToJson(v: unknown): unknown {
  const o = rec(v);
  if (typeof o['stringValue'] === 'string') return o['stringValue'];
  if (o['numberValue'] !== undefined) return Number(o['numberValue']);
  if (typeof o['boolValue'] === 'boolean') return o['boolValue'];
  if (o['structValue'] !== undefined) return structToJson(o['structValue']);
  if (o['listValue'] !== undefined) {
    const values = rec(o['listValue'])['values'];
    return Array.isArray(values) ? values.map(valueToJson) : [];
  }
  return null;
}

/** A decoded Struct (untrusted) to a plain JSON object. */
export function structToJson(s: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec(rec(s)['fields']))) out[k] = valueToJson(v);
  return out;
}

function jsonToValue(v: unknown): StructValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(rec(v)) };
}

/** A plain JSON object as a Struct message object. */
export function jsonToStruct(o: Readonly<Record<string, unknown>>): Struct {
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = jsonToValue(v);
  return { fields };
}

/**
 * Encoded resources as JSON, the way Envoy's config dump shows them: nested `Any`s expanded with
 * their `@type`, Structs as plain objects, enums as names, 64-bit integers as strings, bytes as
 * base64. For debug pages, logs and test assertions.
 */
import protobuf from 'protobufjs';
import { messageType } from './protos.ts';
import { structToJson } from './struct.ts';

function scalarToJson(field: protobuf.Field, v: unknown): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) return rt.valuesById[Number(v)] ?? v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'object' && v !== null) return (v as { toString(): string }).toString(); // Long
  return v;
}

function valueToJson(field: protobuf.Field, v: unknown): unknown {
  const rt = field.resolvedType;
  if (!(rt instanceof protobuf.Type)) return scalarToJson(field, v);
  if (rt.fullName === '.google.protobuf.Any') {
    const a = v as { type_url: string; value: Uint8Array };
    return { '@type': a.type_url, ...messageToJson(a.type_url, a.value) };
  }
  if (rt.fullName === '.google.protobuf.Struct') return structToJson(v);
  return toJson(rt, v as protobuf.Message);
}

function toJson(type: protobuf.Type, msg: object): Record<string, unknown> {
  const m = msg as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    const field = f.resolve();
    if (!Object.hasOwn(m, field.name)) continue;
    const v = m[field.name];
    if (v === null || v === undefined) continue;
    if (field.map) {
      const entries = Object.entries(v);
      if (entries.length > 0)
        out[field.name] = Object.fromEntries(entries.map(([k, x]) => [k, valueToJson(field, x)]));
    } else if (field.repeated) {
      const items = v as unknown[];
      if (items.length > 0) out[field.name] = items.map((x) => valueToJson(field, x));
    } else {
      out[field.name] = valueToJson(field, v);
    }
  }
  return out;
}

/** A message's bytes as JSON. */
export function messageToJson(typeUrlOrName: string, bytes: Uint8Array): Record<string, unknown> {
  const t = messageType(typeUrlOrName);
  return toJson(t, t.decode(bytes));
}

/** An encoded `google.protobuf.Any` as JSON with its `@type`. */
export function anyToJson(any: Uint8Array): Record<string, unknown> {
  const a = messageType('google.protobuf.Any').decode(any) as unknown as {
    type_url: string;
    value: Uint8Array;
  };
  return { '@type': a.type_url, ...messageToJson(a.type_url, a.value) };
}

/**
 * Proto3 JSON (what Envoy reads from a bootstrap file: `@type` in `Any`s, durations as "10s",
 * Structs as plain objects, wrappers as bare values, enums by name) checked strictly against
 * Envoy's schema and turned into the message objects `encodeMessage` takes. An unknown field, a
 * wrong type or two members of one oneof is an error naming the full path, so a config file the
 * agent writes is proven against the same protos Envoy is built from.
 */
import protobuf from 'protobufjs';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { assertNoUnknownFields, encodeMessage, messageType } from './protos.ts';
import { jsonToStruct } from './struct.ts';
import { messageName } from './type-urls.ts';

function fail(path: string, message: string): never {
  throw new IstioLiteError(ErrorCode.InvalidConfig, `${path}: ${message}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const wrappers = new Set([
  '.google.protobuf.BoolValue',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.Int64Value',
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.BytesValue',
]);

/** "1.5s" → {seconds, nanos}; proto3 JSON writes durations in seconds only. */
function parseDuration(v: unknown, path: string): { seconds: number; nanos: number } {
  if (typeof v !== 'string' || !/^-?\d+(\.\d{1,9})?s$/.test(v)) {
    fail(path, `a Duration must be a string like "1.5s", got ${JSON.stringify(v)}`);
  }
  const [whole = '0', frac = ''] = v.slice(0, -1).split('.');
  const seconds = Number(whole);
  const nanos = Number(frac.padEnd(9, '0')) * (whole.startsWith('-') ? -1 : 1);
  return { seconds, nanos };
}

function parseTimestamp(v: unknown, path: string): { seconds: number; nanos: number } {
  const ms = typeof v === 'string' ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) fail(path, `a Timestamp must be RFC 3339, got ${JSON.stringify(v)}`);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function convertMessage(type: protobuf.Type, v: unknown, path: string): Record<string, unknown> {
  const full = type.fullName;
  if (!isRecord(v)) fail(path, `must be an object (${full.slice(1)})`);
  const byName = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) {
    byName.set(f.name, f);
    byName.set(camel(f.name), f);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    const field = byName.get(key);
    if (field === undefined) fail(`${path}.${key}`, `unknown field of ${full.slice(1)}`);
    if (value === null) continue;
    if (out[field.name] !== undefined) fail(`${path}.${key}`, 'set twice (by two spellings)');
    out[field.name] = convertField(field.resolve(), value, `${path}.${key}`);
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.fieldsArray.filter((f) => out[f.name] !== undefined).map((f) => f.name);
    if (set.length > 1)
      fail(path, `oneof ${oneof.name} has more than one member set: ${set.join(', ')}`);
  }
  return out;
}

function convertField(field: protobuf.Field, v: unknown, path: string): unknown {
  if (field.map) {
    if (!isRecord(v)) fail(path, 'must be a map object');
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, convertValue(field, x, `${path}[${k}]`)]),
    );
  }
  if (field.repeated) {
    if (!Array.isArray(v)) fail(path, 'must be a list');
    return v.map((x, i) => convertValue(field, x, `${path}[${i}]`));
  }
  return convertValue(field, v, path);
}

const int64Types = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function convertValue(field: protobuf.Field, v: unknown, path: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return convertTyped(rt, v, path);
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'string' && v in rt.values) return v;
    if (typeof v === 'number' && v in rt.valuesById) return v;
    fail(path, `must be one of ${Object.keys(rt.values).join(', ')}, got ${JSON.stringify(v)}`);
  }
  return convertScalar(field.type, v, path);
}

function convertScalar(t: string, v: unknown, path: string): unknown {
  if (t === 'string') {
    if (typeof v !== 'string') fail(path, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }
  if (t === 'bool') {
    if (typeof v !== 'boolean') fail(path, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  if (t === 'bytes') {
    if (typeof v !== 'string') fail(path, 'bytes must be a base64 string');
    return new Uint8Array(Buffer.from(v, 'base64'));
  }
  if (int64Types.has(t)) {
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return v;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    fail(path, `must be an integer, got ${JSON.stringify(v)}`);
  }
  if (typeof v !== 'number') fail(path, `must be a number, got ${JSON.stringify(v)}`);
  if (t !== 'double' && t !== 'float' && !Number.isInteger(v)) fail(path, 'must be an integer');
  if (t.startsWith('uint') && v < 0) fail(path, 'must not be negative');
  return v;
}

function convertTyped(type: protobuf.Type, v: unknown, path: string): unknown {
  const full = type.fullName;
  switch (full) {
    case '.google.protobuf.Any': {
      if (!isRecord(v) || typeof v['@type'] !== 'string') fail(path, 'an Any needs "@type"');
      const { '@type': typeUrl, ...rest } = v;
      return {
        type_url: typeUrl,
        value: encodeProtoJson(typeUrl, rest, `${path}<${messageName(typeUrl)}>`),
      };
    }
    case '.google.protobuf.Duration':
      return parseDuration(v, path);
    case '.google.protobuf.Timestamp':
      return parseTimestamp(v, path);
    case '.google.protobuf.Struct':
      if (!isRecord(v)) fail(path, 'a Struct must be an object');
      return jsonToStruct(v);
    case '.google.protobuf.Empty':
      if (!isRecord(v) || Object.keys(v).length > 0) fail(path, 'an Empty must be {}');
      return {};
    default:
      if (wrappers.has(full)) {
        const inner = type.fields['value'];
        if (inner === undefined) fail(path, `${full} has no value field`);
        return { value: convertScalar(inner.type, v, path) };
      }
      return convertMessage(type, v, path);
  }
}

/**
 * Encodes proto3 JSON as the message `typeUrlOrName` names, refusing anything the schema does not
 * know; the bytes are then checked again for unknown fields at every depth.
 */
export function encodeProtoJson(typeUrlOrName: string, json: unknown, path?: string): Uint8Array {
  const type = messageType(typeUrlOrName);
  const obj = convertMessage(type, json, path ?? messageName(typeUrlOrName));
  const bytes = encodeMessage(typeUrlOrName, obj);
  assertNoUnknownFields(typeUrlOrName, bytes);
  return bytes;
}

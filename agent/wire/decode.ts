/**
 * A small protobuf decoder driven by schemas written as data: only the fields the agent reads,
 * by field number, everything else skipped. Envoy's full proto tree costs ~35 MB of RSS to load;
 * the agent's hot paths (xDS proxy, SDS, ext_authz, ALS) need a few dozen fields of it. Each
 * schema is tested against the real protos (encoded there, decoded here).
 */
import protobuf from 'protobufjs';
import { int64, uint64 } from '../../lib/mixer/wire-reader.ts';

export type Scalar =
  'string' | 'bytes' | 'int64' | 'uint64' | 'int32' | 'uint32' | 'bool' | 'double';

/**
 * A field's kind: a scalar, an enum (as its number, or as its name from `enumNames`), a nested
 * message, or map<string, V>.
 */
export type Kind =
  | Scalar
  | 'enum'
  | { readonly enumNames: readonly string[] }
  | { readonly message: Schema }
  | { readonly map: Scalar | { readonly message: Schema } };

export interface FieldSpec {
  readonly name: string;
  readonly kind: Kind;
  readonly repeated?: boolean;
}

export type Schema = Readonly<Record<number, FieldSpec>>;

export type Decoded = Record<string, unknown>;

function readScalar(r: protobuf.Reader, kind: Scalar): unknown {
  switch (kind) {
    case 'string':
      return r.string();
    case 'bytes':
      return r.bytes();
    case 'int64':
      return int64(r);
    case 'uint64':
      return uint64(r);
    case 'int32':
      return r.int32();
    case 'uint32':
      return r.uint32();
    case 'bool':
      return r.bool();
    case 'double':
      return r.double();
  }
}

type ValueKind =
  Scalar | 'enum' | { readonly enumNames: readonly string[] } | { readonly message: Schema };

function readKind(r: protobuf.Reader, kind: ValueKind): unknown {
  if (kind === 'enum') return r.int32();
  if (typeof kind === 'object' && 'enumNames' in kind) {
    const n = r.int32();
    return kind.enumNames[n] ?? n;
  }
  if (typeof kind === 'object') return decodeWith(kind.message, r, r.uint32());
  return readScalar(r, kind);
}

function readMapEntry(
  r: protobuf.Reader,
  value: Scalar | { readonly message: Schema },
): [string, unknown] {
  const end = r.pos + r.uint32();
  let k = '';
  let v: unknown = typeof value === 'object' ? {} : value === 'string' ? '' : undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) k = r.string();
    else if (field === 2) v = readKind(r, value);
    else r.skipType(tag & 7);
  }
  return [k, v];
}

/** Decodes `length` bytes from `r` (or all of `bytes`) with `schema`. */
export function decodeWith(
  schema: Schema,
  r: protobuf.Reader | Uint8Array,
  length?: number,
): Decoded {
  const reader = r instanceof protobuf.Reader ? r : protobuf.Reader.create(r);
  const end = length === undefined ? reader.len : reader.pos + length;
  const out: Decoded = {};
  while (reader.pos < end) {
    const tag = reader.uint32();
    const spec = schema[tag >>> 3];
    if (spec === undefined) {
      reader.skipType(tag & 7);
      continue;
    }
    const kind = spec.kind;
    if (typeof kind === 'object' && 'map' in kind) {
      const m = (out[spec.name] ??= {}) as Record<string, unknown>;
      const [k, v] = readMapEntry(reader, kind.map);
      m[k] = v;
    } else if (spec.repeated) {
      const list = (out[spec.name] ??= []) as unknown[];
      // Packed scalars (wire type 2 on a numeric field).
      if ((tag & 7) === 2 && typeof kind === 'string' && kind !== 'string' && kind !== 'bytes') {
        const stop = reader.pos + reader.uint32();
        while (reader.pos < stop) list.push(readKind(reader, kind));
      } else {
        list.push(readKind(reader, kind));
      }
    } else {
      out[spec.name] = readKind(reader, kind);
    }
  }
  return out;
}

/** Narrowing helpers for decoded values (fields absent on the wire are undefined). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

export function msg(v: unknown): Decoded {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
    ? (v as Decoded)
    : {};
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(msg(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

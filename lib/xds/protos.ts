/**
 * Envoy's protos, loaded once per process from the data-plane-api tree that `@grpc/grpc-js-xds`
 * ships (deps/envoy-api, xds, googleapis, protoc-gen-validate), with field names as in the .proto
 * files (`lb_policy`, not `lbPolicy`) so objects read like Envoy's docs.
 *
 * `encodeMessage` refuses any field the schema does not know (protobufjs would drop it silently),
 * so a typo in a generator is an error at build time and never a config Envoy quietly ignores.
 * `assertNoUnknownFields` checks encoded bytes, nested `Any`s included, the other way round.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { readBundle } from './proto-bundle.ts';
import { messageName } from './type-urls.ts';

/** The .proto files loaded; everything they import comes along. */
export const envoyProtoFiles: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/secret/v3/sds.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/mongo_proxy/v3/mongo_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  // The agent's filters in Pilot's listeners when the mesh has Mixer (lib/xds/agent-filters.ts).
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/network/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/access_loggers/grpc/v3/als.proto',
];

/** An `Any` as istio-lite builds it: the payload already encoded. */
export interface EncodedAny {
  readonly type_url: string;
  readonly value: Uint8Array;
}

function includeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const xds = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const pbjs = dirname(require.resolve('protobufjs/package.json'));
  const deps = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) =>
    join(xds, 'deps', d),
  );
  // protobufjs carries google/protobuf/descriptor.proto, which the validate annotations import.
  return [...deps, pbjs];
}

let root: protobuf.Root | undefined;
const typeCache = new Map<string, protobuf.Type>();

/** Files loaded beyond envoyProtoFiles (tests' extra messages): loadExtraProtos. */
const extraFiles = new Set<string>();

/** The shared root, loaded on first use: from the JSON bundle when it fits, else parsed. */
export function envoyRoot(): protobuf.Root {
  root ??= readBundle(envoyProtoFiles) ?? parseEnvoyProtos();
  return root;
}

/**
 * Makes the shared root hold these files' messages too (tests check messages Pilot never sends).
 * The root is parsed again with them: a root read from the bundle cannot load .proto files on
 * top, since it does not know which files its types came from.
 */
export function loadExtraProtos(files: readonly string[]): void {
  if (files.every((f) => envoyProtoFiles.includes(f) || extraFiles.has(f))) return;
  for (const f of files) extraFiles.add(f);
  root = parseEnvoyProtos([...envoyProtoFiles, ...extraFiles]);
  typeCache.clear();
}

/** Envoy's .proto files parsed (about 0.4 s on this project's 2-core machine). */
export function parseEnvoyProtos(files: readonly string[] = envoyProtoFiles): protobuf.Root {
  const dirs = includeDirs();
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target;
    for (const d of dirs) {
      const p = join(d, target);
      if (existsSync(p)) return p;
    }
    throw new IstioLiteError(
      ErrorCode.Internal,
      `proto ${target} not found under ${dirs.join(', ')}`,
    );
  };
  r.loadSync([...files], { keepCase: true });
  r.resolveAll();
  return r;
}

/** The message type for a type URL or a fully qualified name. */
export function messageType(typeUrlOrName: string): protobuf.Type {
  let t = typeCache.get(typeUrlOrName);
  if (t) return t;
  const name = messageName(typeUrlOrName);
  try {
    t = envoyRoot().lookupType(name);
  } catch (e) {
    throw new IstioLiteError(ErrorCode.Internal, `unknown proto message ${name}`, { cause: e });
  }
  typeCache.set(typeUrlOrName, t);
  return t;
}

/** Encodes a plain object (proto field names) after checking every field against the schema. */
export function encodeMessage(typeUrlOrName: string, value: object): Uint8Array {
  const type = messageType(typeUrlOrName);
  checkMessage(type, value, messageName(typeUrlOrName));
  return type.encode(type.fromObject(value)).finish();
}

/** An `Any` wrapping `value` encoded as the message its type URL names. */
export function toAny(typeUrl: string, value: object): EncodedAny {
  return { type_url: typeUrl, value: encodeMessage(typeUrl, value) };
}

const toObjectOptions: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: Uint8Array,
  defaults: false,
  oneofs: false,
};

/** Decodes bytes into a plain object (proto field names, enums as names, longs as strings). */
export function decodeMessage(typeUrlOrName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = messageType(typeUrlOrName);
  return type.toObject(type.decode(bytes), toObjectOptions);
}

/**
 * Throws when `bytes` hold a field the schema does not know, at any depth (nested `Any`s are
 * decoded by their type URL): decoding drops unknown fields, so re-encoding would differ.
 */
export function assertNoUnknownFields(typeUrlOrName: string, bytes: Uint8Array): void {
  const type = messageType(typeUrlOrName);
  const decoded = type.decode(bytes);
  const again = type.encode(decoded).finish();
  if (!Buffer.from(again).equals(Buffer.from(bytes))) {
    throw new IstioLiteError(
      ErrorCode.Internal,
      `${messageName(typeUrlOrName)}: encoding holds fields the schema does not know`,
    );
  }
  forEachAny(type, decoded, (any) => {
    assertNoUnknownFields(any.type_url, any.value);
  });
}

function forEachAny(type: protobuf.Type, msg: object, visit: (any: EncodedAny) => void): void {
  const rec = msg as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const v = rec[field.name];
    if (v === undefined || v === null) continue;
    const rt = field.resolve().resolvedType;
    if (!(rt instanceof protobuf.Type)) continue;
    const items: unknown[] = field.map ? Object.values(v) : field.repeated ? (v as unknown[]) : [v];
    for (const item of items) {
      if (fullNameOf(rt) === '.google.protobuf.Any') {
        const a = item as { type_url: string; value: Uint8Array };
        visit({ type_url: a.type_url, value: a.value });
      } else {
        forEachAny(rt, item as object, visit);
      }
    }
  }
}

function fail(path: string, message: string): never {
  throw new IstioLiteError(ErrorCode.Internal, `${path}: ${message}`);
}

/** protobufjs computes `fullName` on every read (walking the parents); this reads it once. */
const fullNames = new WeakMap<protobuf.Type, string>();
function fullNameOf(type: protobuf.Type): string {
  let n = fullNames.get(type);
  if (n === undefined) fullNames.set(type, (n = type.fullName));
  return n;
}

function checkMessage(type: protobuf.Type, value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(path, `must be a ${type.name} message object`);
  }
  if (fullNameOf(type) === '.google.protobuf.Any') {
    const a = value as Record<string, unknown>;
    if (typeof a['type_url'] !== 'string' || !(a['value'] instanceof Uint8Array)) {
      fail(path, 'an Any must be {type_url, value: Uint8Array} (use toAny)');
    }
    if (Object.keys(a).some((k) => k !== 'type_url' && k !== 'value')) {
      fail(path, 'an Any has only type_url and value');
    }
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    const field = type.fields[key];
    if (field === undefined)
      fail(`${path}.${key}`, `unknown field of ${fullNameOf(type).slice(1)}`);
    checkField(field.resolve(), v, `${path}.${key}`);
  }
}

function checkField(field: protobuf.Field, v: unknown, path: string): void {
  if (field.map) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be a map object');
    for (const [k, item] of Object.entries(v)) checkValue(field, item, `${path}[${k}]`);
  } else if (field.repeated) {
    if (!Array.isArray(v)) fail(path, 'must be a list');
    v.forEach((item, i) => {
      checkValue(field, item, `${path}[${i}]`);
    });
  } else {
    checkValue(field, v, path);
  }
}

const int64Types = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function checkValue(field: protobuf.Field, v: unknown, path: string): void {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    checkMessage(rt, v, path);
    return;
  }
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'string' && v in rt.values) return;
    if (typeof v === 'number' && v in rt.valuesById) return;
    fail(path, `must be one of ${Object.keys(rt.values).join(', ')}`);
  }
  const t = field.type;
  const ok =
    t === 'string'
      ? typeof v === 'string'
      : t === 'bool'
        ? typeof v === 'boolean'
        : t === 'bytes'
          ? v instanceof Uint8Array || typeof v === 'string'
          : int64Types.has(t)
            ? (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'string'
            : typeof v === 'number';
  if (!ok) fail(path, `must be a ${t}, got ${typeof v}`);
}

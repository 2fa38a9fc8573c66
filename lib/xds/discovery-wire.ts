/**
 * The xDS wire messages (`DiscoveryRequest`, `DiscoveryResponse`) for servers built on
 * @grpc/grpc-js: requests are decoded and narrowed into a small typed shape; responses are written
 * straight from resources that were wrapped in `Any` and encoded once, so a resource pushed to a
 * hundred proxies is encoded once, not a hundred times.
 */
import protobuf from 'protobufjs';
import { messageType } from './protos.ts';
import { jsonToStruct, structToJson } from './struct.ts';

const RequestType = 'envoy.service.discovery.v3.DiscoveryRequest';
const NodeType = 'envoy.config.core.v3.Node';
const StatusType = 'google.rpc.Status';

/** A node as a server needs it: the id, metadata as plain JSON, and the locality. */
export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly locality: { readonly region: string; readonly zone: string; readonly subZone: string };
  readonly userAgent: string;
}

export interface DiscoveryRequest {
  readonly versionInfo: string;
  readonly node: NodeInfo | undefined;
  readonly resourceNames: readonly string[];
  /**
   * The encoded `resource_names` as they arrived, when they were one run of fields (as every
   * encoder writes them): two requests with equal keys name the same resources in the same
   * order, so a server can tell an unchanged subscription without reading the names. Undefined
   * when absent, empty, interleaved with other fields, or when the stream's history said they repeat.
   */
  readonly resourceNamesKey?: Uint8Array | undefined;
  /** The stream's history (given to the decoder) said these names repeat the last request's. */
  readonly namesUnchanged?: boolean;
  readonly typeUrl: string;
  readonly responseNonce: string;
  /** Set on a NACK. */
  readonly errorDetail: { readonly code: number; readonly message: string } | undefined;
}

export interface DiscoveryResponse {
  readonly versionInfo: string;
  /** Each an encoded `google.protobuf.Any`. */
  readonly resources: readonly Uint8Array[];
  readonly typeUrl: string;
  readonly nonce: string;
  readonly controlPlane: string;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

/** A decoded Node (untrusted) narrowed to what servers use. */
export function narrowNode(v: unknown): NodeInfo | undefined {
  if (v === undefined || v === null) return undefined;
  const n = rec(v);
  const loc = rec(n['locality']);
  return {
    id: str(n['id']),
    cluster: str(n['cluster']),
    metadata: structToJson(n['metadata']),
    locality: { region: str(loc['region']), zone: str(loc['zone']), subZone: str(loc['sub_zone']) },
    userAgent: `${str(n['user_agent_name'])} ${str(n['user_agent_version'])}`.trim(),
  };
}

/** Reads a length-delimited `config.core.v3.Node` at the reader's position. */
export function readNode(r: protobuf.Reader): NodeInfo | undefined {
  const t = messageType(NodeType);
  return narrowNode(t.toObject(t.decode(r, r.uint32()), { defaults: false, longs: String }));
}

/** Reads a length-delimited `google.rpc.Status` (a NACK's error_detail). */
export function readStatus(r: protobuf.Reader): { code: number; message: string } {
  const t = messageType(StatusType);
  const o = t.toObject(t.decode(r, r.uint32()), { defaults: true });
  return { code: Number(o['code'] ?? 0), message: str(o['message']) };
}

/** The strings of the `resource_names` fields in `bytes` (length-delimited, as checked). */
function readNames(bytes: Uint8Array): string[] {
  const r = protobuf.Reader.create(bytes);
  const names: string[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 3) names.push(r.string());
    else r.skipType(tag & 7);
  }
  return names;
}

/** A stream's memory of the names it was last asked for (a server's own state). */
export interface NamesHistory {
  /**
   * Whether names encoded as `key` repeat the last request's for `typeUrl`. It runs inside the
   * decoder, while `key`, a view of the message's bytes, is valid.
   */
  sameNames(typeUrl: string, key: Uint8Array): boolean;
}

/**
 * Decodes a DiscoveryRequest field by field (no intermediate message objects: Envoy repeats every
 * subscribed name in every request, so this runs hot). Unknown fields are skipped. The names are
 * read only when asked for: an ACK usually repeats the names of the request before it, and when
 * `history` says so the request carries neither its names nor a key, and nothing of them is
 * copied (a hundred proxies ACKing a thousand load assignments would otherwise copy and collect
 * megabytes a push).
 */
export function decodeDiscoveryRequest(
  bytes: Uint8Array,
  history?: NamesHistory,
): DiscoveryRequest {
  const r = protobuf.Reader.create(bytes);
  let versionInfo = '';
  let node: NodeInfo | undefined;
  let typeUrl = '';
  let responseNonce = '';
  let errorDetail: DiscoveryRequest['errorDetail'];
  /** Where the first resource_names field starts (its tag), and where the last one ends. */
  let namesStart = -1;
  let namesEnd = -1;
  let contiguous = true;
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    if (tag >>> 3 === 3) {
      if ((tag & 7) !== 2) throw new Error('resource_names (field 3) is not length-delimited');
      if (namesStart < 0) namesStart = start;
      else if (start !== namesEnd) contiguous = false;
      r.skipType(2);
      namesEnd = r.pos;
      continue;
    }
    switch (tag >>> 3) {
      case 1:
        versionInfo = r.string();
        break;
      case 2:
        node = readNode(r);
        break;
      case 4:
        typeUrl = r.string();
        break;
      case 5:
        responseNonce = r.string();
        break;
      case 6:
        errorDetail = readStatus(r);
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  const fields = { versionInfo, node, typeUrl, responseNonce, errorDetail };
  if (namesStart < 0) return { ...fields, resourceNames: [], resourceNamesKey: undefined };
  // Interleaved names (no encoder writes them so) are read at once, with no key.
  if (!contiguous) return { ...fields, resourceNames: readNames(bytes) };
  const view = bytes.subarray(namesStart, namesEnd);
  if (history?.sameNames(typeUrl, view) === true) {
    return {
      ...fields,
      get resourceNames(): string[] {
        throw new Error("the names repeat the last request's and were not read (namesUnchanged)");
      },
      namesUnchanged: true,
    };
  }
  // A new subscription: its key is copied (the message's buffer may be reused once this
  // returns) and its names read from the copy when asked for.
  const resourceNamesKey = Uint8Array.prototype.slice.call(bytes, namesStart, namesEnd);
  let names: string[] | undefined;
  return {
    ...fields,
    get resourceNames() {
      names ??= readNames(resourceNamesKey);
      return names;
    },
    resourceNamesKey,
  };
}

/** Encodes a DiscoveryRequest (for clients and tests). */
export function encodeDiscoveryRequest(req: {
  versionInfo?: string;
  node?: { id: string; cluster?: string; metadata?: Record<string, unknown> };
  resourceNames?: readonly string[];
  typeUrl: string;
  responseNonce?: string;
  errorDetail?: { code: number; message: string };
}): Uint8Array {
  const t = messageType(RequestType);
  const node = req.node && {
    id: req.node.id,
    cluster: req.node.cluster ?? '',
    metadata: jsonToStruct(req.node.metadata ?? {}),
  };
  const msg = t.fromObject({
    version_info: req.versionInfo ?? '',
    node,
    resource_names: req.resourceNames ?? [],
    type_url: req.typeUrl,
    response_nonce: req.responseNonce ?? '',
    error_detail: req.errorDetail,
  });
  return t.encode(msg).finish();
}

/** An encoded `google.protobuf.Any` from a type URL and the message's bytes. */
export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32(10).string(typeUrl).uint32(18).bytes(value).finish();
}

/** Encodes a DiscoveryResponse whose resources are already encoded `Any`s. */
export function encodeDiscoveryResponse(r: DiscoveryResponse): Uint8Array {
  const w = protobuf.Writer.create();
  if (r.versionInfo !== '') w.uint32(10).string(r.versionInfo); // version_info = 1
  for (const any of r.resources) w.uint32(18).bytes(any); // resources = 2
  w.uint32(34).string(r.typeUrl); // type_url = 4
  w.uint32(42).string(r.nonce); // nonce = 5
  w.uint32(50).fork().uint32(10).string(r.controlPlane).ldelim(); // control_plane.identifier
  return w.finish();
}

/** Decodes a DiscoveryResponse (for clients and tests); resources stay encoded. */
export function decodeDiscoveryResponse(bytes: Uint8Array): {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: { typeUrl: string; value: Uint8Array }[];
} {
  const t = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  const o = t.toObject(t.decode(bytes), { bytes: Uint8Array, longs: String, defaults: false });
  const resources = Array.isArray(o['resources']) ? (o['resources'] as unknown[]) : [];
  return {
    versionInfo: str(o['version_info']),
    typeUrl: str(o['type_url']),
    nonce: str(o['nonce']),
    resources: resources.map((r) => {
      const a = rec(r);
      const value = a['value'];
      return {
        typeUrl: str(a['type_url']),
        value: value instanceof Uint8Array ? value : new Uint8Array(),
      };
    }),
  };
}

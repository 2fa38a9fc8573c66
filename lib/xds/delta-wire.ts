/**
 * Incremental xDS wire messages (`DeltaDiscoveryRequest`, `DeltaDiscoveryResponse`), the same way
 * as discovery-wire.ts: requests decoded field by field into a narrow shape, responses written
 * from resources already wrapped in `Any` and encoded once.
 */
import protobuf from 'protobufjs';
import { readNode, readStatus, type NodeInfo } from './discovery-wire.ts';
import { messageType } from './protos.ts';

export interface DeltaDiscoveryRequest {
  readonly node: NodeInfo | undefined;
  readonly typeUrl: string;
  readonly subscribe: readonly string[];
  readonly unsubscribe: readonly string[];
  /** Versions of resources the client already has (first request of a reconnect). */
  readonly initialVersions: ReadonlyMap<string, string>;
  readonly responseNonce: string;
  readonly errorDetail: { readonly code: number; readonly message: string } | undefined;
}

export interface DeltaResource {
  readonly name: string;
  readonly version: string;
  /** An encoded `google.protobuf.Any`. */
  readonly any: Uint8Array;
}

export interface DeltaDiscoveryResponse {
  readonly systemVersionInfo: string;
  readonly resources: readonly DeltaResource[];
  readonly typeUrl: string;
  readonly removed: readonly string[];
  readonly nonce: string;
  readonly controlPlane: string;
}

function readMapEntry(r: protobuf.Reader): [string, string] {
  const end = r.uint32() + r.pos;
  let k = '';
  let v = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) k = r.string();
    else if (tag >>> 3 === 2) v = r.string();
    else r.skipType(tag & 7);
  }
  return [k, v];
}

export function decodeDeltaDiscoveryRequest(bytes: Uint8Array): DeltaDiscoveryRequest {
  const r = protobuf.Reader.create(bytes);
  let node: NodeInfo | undefined;
  let typeUrl = '';
  const subscribe: string[] = [];
  const unsubscribe: string[] = [];
  const initialVersions = new Map<string, string>();
  let responseNonce = '';
  let errorDetail: DeltaDiscoveryRequest['errorDetail'];
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        node = readNode(r);
        break;
      case 2:
        typeUrl = r.string();
        break;
      case 3:
        subscribe.push(r.string());
        break;
      case 4:
        unsubscribe.push(r.string());
        break;
      case 5: {
        const [k, v] = readMapEntry(r);
        initialVersions.set(k, v);
        break;
      }
      case 6:
        responseNonce = r.string();
        break;
      case 7:
        errorDetail = readStatus(r);
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return { node, typeUrl, subscribe, unsubscribe, initialVersions, responseNonce, errorDetail };
}

export function encodeDeltaDiscoveryResponse(d: DeltaDiscoveryResponse): Uint8Array {
  const w = protobuf.Writer.create();
  if (d.systemVersionInfo !== '') w.uint32(10).string(d.systemVersionInfo); // system_version_info = 1
  for (const res of d.resources) {
    // resources = 2: Resource { version = 1, resource = 2, name = 3 }
    w.uint32(18).fork();
    w.uint32(10).string(res.version).uint32(18).bytes(res.any).uint32(26).string(res.name);
    w.ldelim();
  }
  w.uint32(34).string(d.typeUrl); // type_url = 4
  w.uint32(42).string(d.nonce); // nonce = 5
  for (const n of d.removed) w.uint32(50).string(n); // removed_resources = 6
  w.uint32(58).fork().uint32(10).string(d.controlPlane).ldelim(); // control_plane = 7
  return w.finish();
}

/** Encodes a DeltaDiscoveryRequest (for clients and tests). */
export function encodeDeltaDiscoveryRequest(req: {
  node?: { id: string; metadata?: Record<string, unknown> };
  typeUrl: string;
  subscribe?: readonly string[];
  unsubscribe?: readonly string[];
  initialVersions?: Readonly<Record<string, string>>;
  responseNonce?: string;
  errorDetail?: { code: number; message: string };
}): Uint8Array {
  const t = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const metadata = req.node?.metadata ?? {};
  return t
    .encode(
      t.fromObject({
        node: req.node && {
          id: req.node.id,
          metadata: {
            fields: Object.fromEntries(
              Object.entries(metadata).map(([k, v]) => [k, { stringValue: String(v) }]),
            ),
          },
        },
        type_url: req.typeUrl,
        resource_names_subscribe: req.subscribe ?? [],
        resource_names_unsubscribe: req.unsubscribe ?? [],
        initial_resource_versions: req.initialVersions ?? {},
        response_nonce: req.responseNonce ?? '',
        error_detail: req.errorDetail,
      }),
    )
    .finish();
}

/** Decodes a DeltaDiscoveryResponse (for clients and tests); resources stay encoded. */
export function decodeDeltaDiscoveryResponse(bytes: Uint8Array): {
  systemVersionInfo: string;
  typeUrl: string;
  nonce: string;
  removed: string[];
  resources: { name: string; version: string; typeUrl: string; value: Uint8Array }[];
} {
  const t = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const o = t.toObject(t.decode(bytes), { bytes: Uint8Array, longs: String, defaults: true }) as {
    system_version_info: string;
    type_url: string;
    nonce: string;
    removed_resources: string[];
    resources: {
      name: string;
      version: string;
      resource?: { type_url: string; value: Uint8Array };
    }[];
  };
  return {
    systemVersionInfo: o.system_version_info,
    typeUrl: o.type_url,
    nonce: o.nonce,
    removed: o.removed_resources,
    resources: o.resources.map((r) => ({
      name: r.name,
      version: r.version,
      typeUrl: r.resource?.type_url ?? '',
      value: r.resource?.value ?? new Uint8Array(),
    })),
  };
}

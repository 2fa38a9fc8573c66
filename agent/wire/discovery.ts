/**
 * The parts of `DiscoveryRequest` and `DiscoveryResponse` the agent reads, decoded without
 * Envoy's proto tree: enough for the xDS proxy to follow nonces, versions, subscriptions and
 * NACKs, and for SDS to answer. Messages are forwarded as the original bytes.
 */
import { decodeWith, list, msg, num, str, type Schema } from './decode.ts';

const status: Schema = {
  1: { name: 'code', kind: 'int32' },
  2: { name: 'message', kind: 'string' },
};

const node: Schema = {
  1: { name: 'id', kind: 'string' },
  2: { name: 'cluster', kind: 'string' },
};

const request: Schema = {
  1: { name: 'version_info', kind: 'string' },
  2: { name: 'node', kind: { message: node } },
  3: { name: 'resource_names', kind: 'string', repeated: true },
  4: { name: 'type_url', kind: 'string' },
  5: { name: 'response_nonce', kind: 'string' },
  6: { name: 'error_detail', kind: { message: status } },
};

const protoAny: Schema = {
  1: { name: 'type_url', kind: 'string' },
  2: { name: 'value', kind: 'bytes' },
};

const response: Schema = {
  1: { name: 'version_info', kind: 'string' },
  2: { name: 'resources', kind: { message: protoAny }, repeated: true },
  4: { name: 'type_url', kind: 'string' },
  5: { name: 'nonce', kind: 'string' },
};

export interface RequestPeek {
  readonly versionInfo: string;
  readonly nodeId: string | undefined;
  readonly resourceNames: readonly string[];
  readonly typeUrl: string;
  readonly responseNonce: string;
  /** Set on a NACK. */
  readonly errorDetail: { readonly code: number; readonly message: string } | undefined;
}

export interface ResponsePeek {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly { readonly typeUrl: string; readonly value: Uint8Array }[];
}

export function peekRequest(bytes: Uint8Array): RequestPeek {
  const o = decodeWith(request, bytes);
  const n = o['node'];
  const err = o['error_detail'];
  return {
    versionInfo: str(o['version_info']),
    nodeId: n === undefined ? undefined : str(msg(n)['id']),
    resourceNames: list(o['resource_names']).map(str),
    typeUrl: str(o['type_url']),
    responseNonce: str(o['response_nonce']),
    errorDetail:
      err === undefined
        ? undefined
        : { code: num(msg(err)['code']), message: str(msg(err)['message']) },
  };
}

export function peekResponse(bytes: Uint8Array): ResponsePeek {
  const o = decodeWith(response, bytes);
  return {
    versionInfo: str(o['version_info']),
    typeUrl: str(o['type_url']),
    nonce: str(o['nonce']),
    resources: list(o['resources']).map((r) => {
      const a = msg(r);
      const value = a['value'];
      return {
        typeUrl: str(a['type_url']),
        value: value instanceof Uint8Array ? value : new Uint8Array(),
      };
    }),
  };
}

const named: Schema = { 1: { name: 'name', kind: 'string' } };
const claNamed: Schema = { 1: { name: 'cluster_name', kind: 'string' } };

/** A resource's name: field 1 of Listener, Cluster, RouteConfiguration, Secret; CLA's cluster_name. */
export function resourceName(typeUrl: string, value: Uint8Array): string {
  const isCla = typeUrl.endsWith('.ClusterLoadAssignment');
  const o = decodeWith(isCla ? claNamed : named, value);
  return str(isCla ? o['cluster_name'] : o['name']);
}

/**
 * Mutual TLS between sidecars: every certificate comes over SDS from the local agent (secret
 * `default` is the workload's key and chain, `ROOTCA` the trust root), peers are verified by their
 * SPIFFE identity. Only Envoy sidecars get these; proxyless gRPC clients cannot use SDS.
 */
import protobuf from 'protobufjs';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { encodeMessage, toAny } from '../../lib/xds/protos.ts';
import type {
  CommonTlsContext,
  ConfigSource,
  DownstreamTlsContext,
  TransportSocket,
} from '../../lib/xds/types.ts';
import { AgentCluster, SdsSecret } from '../../lib/xds/agent-clusters.ts';

/** ALPN that marks a connection as sidecar-to-sidecar mTLS (so PERMISSIVE can tell it from app TLS). */
export const MeshAlpn = 'istio';

export function sdsConfig(): ConfigSource {
  return {
    api_config_source: {
      api_type: 'GRPC',
      transport_api_version: 'V3',
      grpc_services: [{ envoy_grpc: { cluster_name: AgentCluster.Sds } }],
      set_node_on_first_message_only: true,
    },
    resource_api_version: 'V3',
  };
}

export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

function commonTls(sans: readonly string[], alpn: readonly string[]): CommonTlsContext {
  return {
    tls_certificate_sds_secret_configs: [{ name: SdsSecret.Default, sds_config: sdsConfig() }],
    combined_validation_context: {
      default_validation_context: {
        match_typed_subject_alt_names: sans.map((s) => ({
          san_type: 'URI',
          matcher: { exact: s },
        })),
      },
      validation_context_sds_secret_config: { name: SdsSecret.RootCa, sds_config: sdsConfig() },
    },
    alpn_protocols: [...alpn],
  };
}

/** Encoded client-side CommonTlsContexts by their SANs (shared by every port and subset). */
const commonByPeers = new Map<string, Uint8Array>();
const maxCommonCached = 10_000;

function encodedClientCommon(sans: readonly string[]): Uint8Array {
  const key = sans.join('\n');
  let bytes = commonByPeers.get(key);
  if (bytes === undefined) {
    bytes = encodeMessage(
      'envoy.extensions.transport_sockets.tls.v3.CommonTlsContext',
      commonTls(sans, [MeshAlpn]),
    );
    if (commonByPeers.size >= maxCommonCached) commonByPeers.clear();
    commonByPeers.set(key, bytes);
  }
  return bytes;
}

/**
 * Client side: present our certificate, accept a peer with one of `sans` (any when empty). One
 * is made for every cluster, so the part that depends only on the peers is encoded once and the
 * UpstreamTlsContext written around it: field 1 `common_tls_context`, field 2 `sni`, the same
 * bytes the whole message encodes to (tls.test.ts checks them).
 */
export function upstreamTlsSocket(sans: readonly string[], sni: string): TransportSocket {
  const w = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .bytes(encodedClientCommon(sans));
  if (sni !== '') w.uint32((2 << 3) | 2).string(sni);
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: { type_url: TypeUrl.UpstreamTlsContext, value: w.finish() },
  };
}

/** Server side: require a client certificate signed by the mesh root. */
export function downstreamTlsSocket(): TransportSocket {
  const ctx: DownstreamTlsContext = {
    common_tls_context: commonTls([], [MeshAlpn, 'h2', 'http/1.1']),
    require_client_certificate: { value: true },
  };
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: toAny(TypeUrl.DownstreamTlsContext, ctx),
  };
}

export function rawBufferSocket(): TransportSocket {
  return { name: 'envoy.transport_sockets.raw_buffer', typed_config: toAny(TypeUrl.RawBuffer, {}) };
}

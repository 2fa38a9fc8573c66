/**
 * A raw ADS client that behaves like Envoy's subscription flow, for the bench: wildcard CDS; on
 * each CDS, EDS for every EDS cluster; LDS after the first EDS; RDS for the route names; every
 * response ACKed. It notes when it first holds all four types, and when a watched string (an
 * endpoint address) first shows up in an EDS response.
 */
import { decodeMessage } from '../../lib/xds/protos.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { RawAdsClient, type RawResponse } from '../../pilot/testing/raw-ads-client.ts';

/** Field 1 (`name`, `cluster_name`) read straight off the wire, as it comes first. */
function firstString(typeUrl: string, bytes: Uint8Array): string {
  if (bytes[0] === 0x0a) {
    let len = 0;
    let shift = 0;
    let i = 1;
    for (; i < bytes.length; i++) {
      const b = bytes[i] ?? 0;
      len |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset + i + 1, len).toString('utf8');
  }
  const o = decodeMessage(typeUrl, bytes);
  const n = o['name'] ?? o['cluster_name'];
  return typeof n === 'string' ? n : '';
}

/**
 * Client `k` as a sidecar both istio-lite and istiod serve: Istio's node id
 * (`sidecar~IP~POD.NS~NS.svc.cluster.local`) and the node metadata the istio-agent sends that
 * istiod reads (version, cluster, namespace, pod name, labels, interception mode).
 */
export function sidecarNode(
  k: number,
  namespace: string,
): { id: string; metadata: Record<string, unknown> } {
  const ip = `10.200.${String(k >> 8)}.${String(k & 255)}`;
  const pod = `client-${String(k)}`;
  return {
    id: `sidecar~${ip}~${pod}.${namespace}~${namespace}.svc.cluster.local`,
    metadata: {
      ISTIO_VERSION: '1.29.0',
      CLUSTER_ID: 'Kubernetes',
      NAMESPACE: namespace,
      NAME: pod,
      WORKLOAD_NAME: pod,
      INSTANCE_IPS: ip,
      INTERCEPTION_MODE: 'REDIRECT',
      SERVICE_ACCOUNT: 'default',
      MESH_ID: 'cluster.local',
      LABELS: { app: pod },
    },
  };
}

export class EnvoyLikeClient {
  readonly raw: RawAdsClient;
  fullAt: number | undefined;
  private readonly got = new Set<string>();
  private edsNames: string[] = [];
  private lastEds: RawResponse | undefined;
  private watch: { needle: Buffer; resolve: (t: number) => void } | undefined;
  private readonly routes: readonly string[];

  constructor(
    address: string,
    node: { readonly id: string; readonly metadata: Record<string, unknown> },
    routes: readonly string[],
  ) {
    this.routes = routes;
    this.raw = new RawAdsClient(address, node.id, node.metadata);
    this.raw.keepResponses = false;
    this.raw.onResponse = (r) => {
      this.onResponse(r);
    };
  }

  start(): void {
    this.raw.send({ typeUrl: TypeUrl.Cluster });
  }

  /** Resolves with the time `needle` first arrives in an EDS response. */
  waitFor(needle: string): Promise<number> {
    return new Promise((resolve) => {
      this.watch = { needle: Buffer.from(needle), resolve };
    });
  }

  private onResponse(r: RawResponse): void {
    const now = Date.now();
    switch (r.typeUrl) {
      case TypeUrl.Cluster: {
        this.edsNames = r.resources
          .map((x) => firstString(x.typeUrl, x.value))
          .filter((n) => n.startsWith('outbound|'));
        // As Envoy: subscribe to the new clusters' endpoints, then ACK the clusters.
        if (this.lastEds) this.raw.ack(this.lastEds, this.edsNames);
        else
          this.raw.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: this.edsNames });
        this.raw.ack(r);
        break;
      }
      case TypeUrl.ClusterLoadAssignment: {
        const first = this.lastEds === undefined;
        this.lastEds = r;
        const w = this.watch;
        if (
          w &&
          r.resources.some((x) =>
            Buffer.from(x.value.buffer, x.value.byteOffset, x.value.byteLength).includes(w.needle),
          )
        ) {
          this.watch = undefined;
          w.resolve(now);
        }
        this.raw.ack(r, this.edsNames);
        if (first) this.raw.send({ typeUrl: TypeUrl.Listener });
        break;
      }
      case TypeUrl.Listener:
        this.raw.ack(r);
        if (!this.got.has(TypeUrl.Listener)) {
          this.raw.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: this.routes });
        }
        break;
      case TypeUrl.RouteConfiguration:
        this.raw.ack(r, this.routes);
        break;
      default:
        return;
    }
    this.got.add(r.typeUrl);
    if (this.fullAt === undefined && this.got.size === 4) this.fullAt = now;
  }

  close(): void {
    this.raw.close();
  }
}

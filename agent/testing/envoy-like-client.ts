/**
 * An ADS client that behaves like Envoy on the wire, standing in for it where Envoy is not
 * installed: node on the first request only, wildcard CDS and LDS, EDS for the EDS clusters it
 * got, RDS for the route configurations its listeners name; every response decoded with Envoy's
 * protos (no unknown field) and ACKed, or NACKed when `reject` says so; and on a broken stream it
 * keeps its config and reconnects with backoff, as Envoy does.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeDiscoveryResponse, encodeDiscoveryRequest } from '../../lib/xds/discovery-wire.ts';
import { assertNoUnknownFields, decodeMessage } from '../../lib/xds/protos.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { AdsService, rawClient } from '../grpc/raw-service.ts';
import { resourceName } from '../wire/discovery.ts';
import { routeNamesOf } from '../wire/listener-routes.ts';

const Client = rawClient(AdsService, 'AggregatedDiscoveryService');

export interface EnvoyLikeOptions {
  /** `unix:/path/XDS` or host:port. */
  readonly target: string;
  readonly nodeId: string;
  readonly metadata?: Record<string, unknown>;
  /** A NACK message for a response, or undefined to ACK it. */
  readonly reject?: (typeUrl: string, names: readonly string[]) => string | undefined;
  readonly reconnectMs?: number;
}

export class EnvoyLikeClient {
  private readonly o: EnvoyLikeOptions;
  private readonly client: grpc.Client;
  private call: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  private closed = false;
  /** Resource names held, by type (what Envoy would have in its config dump). */
  readonly config = new Map<string, readonly string[]>();
  /**
   * The resources held, by type and name. CDS and LDS responses replace the whole set; EDS and
   * RDS ones carry only what changed (as Pilot sends them), so they update it by name, and names
   * no longer subscribed are dropped, as Envoy keeps them.
   */
  readonly resources = new Map<string, Map<string, { typeUrl: string; value: Uint8Array }>>();
  readonly acked = new Map<string, string>();
  readonly nacked: string[] = [];
  /** The names subscribed, by type (empty = wildcard). */
  private readonly subs = new Map<string, readonly string[]>();
  streams = 0;
  /** Responses received, all streams. */
  responses = 0;
  lastError: string | undefined;

  constructor(o: EnvoyLikeOptions) {
    this.o = o;
    this.client = new Client(o.target, grpc.credentials.createInsecure());
  }

  start(): void {
    if (this.closed) return;
    const method = (
      this.client as unknown as Record<string, () => grpc.ClientDuplexStream<Buffer, Buffer>>
    )['StreamAggregatedResources'];
    if (!method) throw new Error('no ADS method');
    const call = method.call(this.client);
    this.call = call;
    this.streams++;
    let first = true;
    const send = (
      typeUrl: string,
      names: readonly string[],
      nonce = '',
      version = '',
      error?: string,
    ) => {
      const node = first ? { node: { id: this.o.nodeId, metadata: this.o.metadata ?? {} } } : {};
      first = false;
      call.write(
        Buffer.from(
          encodeDiscoveryRequest({
            typeUrl,
            resourceNames: names,
            responseNonce: nonce,
            versionInfo: version,
            ...node,
            ...(error ? { errorDetail: { code: 3, message: error } } : {}),
          }),
        ),
      );
    };
    call.on('data', (b: Buffer) => {
      this.responses++;
      const r = decodeDiscoveryResponse(b);
      for (const x of r.resources) assertNoUnknownFields(x.typeUrl, x.value);
      const names = r.resources.map((x) => resourceName(x.typeUrl, x.value));
      const nack = this.o.reject?.(r.typeUrl, names);
      const self = this.subs.get(r.typeUrl) ?? [];
      if (nack !== undefined) {
        this.nacked.push(`${r.typeUrl}: ${nack}`);
        send(r.typeUrl, self, r.nonce, this.acked.get(r.typeUrl) ?? '', nack);
        return;
      }
      this.config.set(r.typeUrl, names);
      const wildcard = r.typeUrl === TypeUrl.Cluster || r.typeUrl === TypeUrl.Listener;
      const held = wildcard
        ? new Map<string, { typeUrl: string; value: Uint8Array }>()
        : (this.resources.get(r.typeUrl) ??
          new Map<string, { typeUrl: string; value: Uint8Array }>());
      r.resources.forEach((x, i) => held.set(names[i] ?? '', x));
      this.resources.set(r.typeUrl, held);
      this.acked.set(r.typeUrl, r.versionInfo);
      send(r.typeUrl, self, r.nonce, r.versionInfo);
      const next = this.followUp(r.typeUrl, r.resources);
      if (next) {
        this.subs.set(next.typeUrl, next.names);
        const kept = this.resources.get(next.typeUrl);
        for (const name of kept?.keys() ?? []) if (!next.names.includes(name)) kept?.delete(name);
        send(next.typeUrl, next.names, '', this.acked.get(next.typeUrl) ?? '');
      }
    });
    const again = (why: string) => {
      if (this.call !== call) return;
      this.call = undefined;
      this.lastError = why;
      if (!this.closed)
        setTimeout(() => {
          this.start();
        }, this.o.reconnectMs ?? 100).unref();
    };
    call.on('error', (e: Error) => {
      again(e.message);
    });
    call.on('end', () => {
      again('ended');
    });
    // A new stream: wildcard CDS and LDS, and the named subscriptions it already had.
    send(TypeUrl.Cluster, []);
    send(TypeUrl.Listener, []);
    for (const t of [TypeUrl.ClusterLoadAssignment, TypeUrl.RouteConfiguration]) {
      const names = this.subs.get(t);
      if (names && names.length > 0) send(t, names, '', this.acked.get(t) ?? '');
    }
  }

  /** The subscription a CDS or LDS response leads to (EDS, RDS). */
  private followUp(
    typeUrl: string,
    resources: readonly { typeUrl: string; value: Uint8Array }[],
  ): { typeUrl: string; names: string[] } | undefined {
    if (typeUrl === TypeUrl.Cluster) {
      const eds = resources
        .filter((x) => {
          const c = decodeMessage(x.typeUrl, x.value);
          return c['type'] === 'EDS' || c['eds_cluster_config'] !== undefined;
        })
        .map((x) => resourceName(x.typeUrl, x.value));
      return { typeUrl: TypeUrl.ClusterLoadAssignment, names: eds };
    }
    if (typeUrl === TypeUrl.Listener) {
      const routes = [...new Set(resources.flatMap((x) => routeNamesOf(x.value)))];
      return { typeUrl: TypeUrl.RouteConfiguration, names: routes };
    }
    return undefined;
  }

  close(): void {
    this.closed = true;
    this.call?.cancel();
    this.client.close();
  }
}

/**
 * A raw ADS client on @grpc/grpc-js for protocol tests and the bench: it sends exactly the
 * requests a test writes (no automatic ACKs unless asked) and queues every response it receives.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeMessage } from '../../lib/xds/protos.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { adsService } from '../xds/ads-server.ts';

export interface RawResponse {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: { typeUrl: string; value: Uint8Array }[];
}

export interface RawRequest {
  readonly typeUrl: string;
  readonly resourceNames?: readonly string[];
  readonly responseNonce?: string;
  readonly versionInfo?: string;
  readonly errorDetail?: { code: number; message: string };
}

const AdsClient = grpc.makeGenericClientConstructor(adsService, 'AggregatedDiscoveryService');

/** The name of an encoded resource of a type (Cluster/Listener/Route `name`, CLA `cluster_name`). */
export function resourceName(typeUrl: string, value: Uint8Array): string {
  const o = decodeMessage(typeUrl, value);
  const n = typeUrl === TypeUrl.ClusterLoadAssignment ? o['cluster_name'] : o['name'];
  return typeof n === 'string' ? n : '';
}

export function names(r: RawResponse): string[] {
  return r.resources.map((x) => resourceName(x.typeUrl, x.value));
}

export class RawAdsClient {
  readonly received: RawResponse[] = [];
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<unknown, RawResponse>;
  private readonly waiters: (() => void)[] = [];
  private cursor = 0;
  private sentNode = false;
  private readonly node: { id: string; metadata: Record<string, unknown> };
  status: grpc.StatusObject | undefined;
  /** Called for every response as it arrives (the bench's clock). */
  onResponse: ((r: RawResponse) => void) | undefined;
  /** Whether responses are queued for `next()` (the bench turns this off). */
  keepResponses = true;

  constructor(address: string, nodeId: string, metadata: Record<string, unknown> = {}) {
    this.node = { id: nodeId, metadata };
    this.client = new AdsClient(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    const method = (
      this.client as unknown as Record<string, () => grpc.ClientDuplexStream<unknown, RawResponse>>
    )['StreamAggregatedResources'];
    if (!method) throw new Error('no StreamAggregatedResources method');
    this.call = method.call(this.client);
    this.call.on('data', (r: RawResponse) => {
      if (this.keepResponses) this.received.push(r);
      this.onResponse?.(r);
      this.wake();
    });
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.wake();
    });
    this.call.on('error', () => {
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(req: RawRequest): void {
    const node = this.sentNode ? undefined : this.node;
    this.sentNode = true;
    this.call.write({ ...req, ...(node ? { node } : {}) });
  }

  /** ACKs a response, keeping (or changing) the subscription. */
  ack(r: RawResponse, resourceNames: readonly string[] = []): void {
    this.send({
      typeUrl: r.typeUrl,
      responseNonce: r.nonce,
      versionInfo: r.versionInfo,
      resourceNames,
    });
  }

  nack(r: RawResponse, message: string, resourceNames: readonly string[] = []): void {
    this.send({
      typeUrl: r.typeUrl,
      responseNonce: r.nonce,
      versionInfo: '',
      resourceNames,
      errorDetail: { code: 3, message },
    });
  }

  /** The next response not yet returned, waiting up to `ms`. */
  async next(ms = 3000): Promise<RawResponse> {
    const deadline = Date.now() + ms;
    while (this.cursor >= this.received.length) {
      const left = deadline - Date.now();
      if (left <= 0 || this.status) {
        throw new Error(
          `no response within ${ms} ms${this.status ? ` (stream ended: ${this.status.details})` : ''}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const r = this.received[this.cursor++];
    if (!r) throw new Error('unreachable');
    return r;
  }

  /** Resolves when no new response arrives for `ms`; rejects with the one that did. */
  async none(ms = 300): Promise<void> {
    const before = this.received.length;
    await new Promise((r) => setTimeout(r, ms));
    if (this.received.length > before) {
      const extra = this.received.slice(before);
      throw new Error(
        `unexpected responses: ${extra.map((r) => `${r.typeUrl.split('.').pop() ?? ''} ${names(r).join(',')}`).join(' | ')}`,
      );
    }
  }

  /** Waits for the stream to end with a status. */
  async ended(ms = 3000): Promise<grpc.StatusObject> {
    const deadline = Date.now() + ms;
    while (!this.status) {
      if (Date.now() > deadline) throw new Error('stream did not end');
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.status;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

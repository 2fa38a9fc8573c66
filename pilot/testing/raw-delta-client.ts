/** A raw incremental ADS client (DeltaAggregatedResources) for protocol tests. */
import * as grpc from '@grpc/grpc-js';
import type { encodeDeltaDiscoveryRequest } from '../../lib/xds/delta-wire.ts';
import { adsService } from '../xds/ads-server.ts';

export interface DeltaResponse {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly removed: string[];
  readonly resources: { name: string; version: string; typeUrl: string; value: Uint8Array }[];
}

type DeltaRequest = Omit<Parameters<typeof encodeDeltaDiscoveryRequest>[0], 'node'>;

const AdsClient = grpc.makeGenericClientConstructor(adsService, 'AggregatedDiscoveryService');

export class RawDeltaClient {
  private readonly received: DeltaResponse[] = [];
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<unknown, DeltaResponse>;
  private cursor = 0;
  private sentNode = false;
  private readonly nodeId: string;

  constructor(address: string, nodeId: string) {
    this.nodeId = nodeId;
    this.client = new AdsClient(address, grpc.credentials.createInsecure());
    const method = (
      this.client as unknown as Record<
        string,
        () => grpc.ClientDuplexStream<unknown, DeltaResponse>
      >
    )['DeltaAggregatedResources'];
    if (!method) throw new Error('no DeltaAggregatedResources method');
    this.call = method.call(this.client);
    this.call.on('data', (r: DeltaResponse) => this.received.push(r));
    this.call.on('error', () => undefined);
  }

  send(req: DeltaRequest): void {
    const node = this.sentNode ? {} : { node: { id: this.nodeId } };
    this.sentNode = true;
    this.call.write({ ...req, ...node });
  }

  ack(r: DeltaResponse, more: Omit<DeltaRequest, 'typeUrl' | 'responseNonce'> = {}): void {
    this.send({ typeUrl: r.typeUrl, responseNonce: r.nonce, ...more });
  }

  async next(ms = 3000): Promise<DeltaResponse> {
    const deadline = Date.now() + ms;
    while (this.cursor >= this.received.length) {
      if (Date.now() > deadline) throw new Error(`no delta response within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = this.received[this.cursor++];
    if (!r) throw new Error('unreachable');
    return r;
  }

  async none(ms = 300): Promise<void> {
    const before = this.received.length;
    await new Promise((r) => setTimeout(r, ms));
    if (this.received.length > before) {
      throw new Error(
        `unexpected delta responses: ${JSON.stringify(this.received.slice(before).map((r) => [r.typeUrl, r.resources.map((x) => x.name), r.removed]))}`,
      );
    }
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

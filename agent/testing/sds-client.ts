/**
 * Envoy's side of SDS, for tests: a real gRPC client on the agent's SDS socket, with requests and
 * answers in Envoy's protos (every Secret is checked for unknown fields).
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { decodeDiscoveryResponse, encodeDiscoveryRequest } from '../../lib/xds/discovery-wire.ts';
import { assertNoUnknownFields, decodeMessage } from '../../lib/xds/protos.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { SdsService, rawClient } from '../grpc/raw-service.ts';
import { loadAgentProtos } from './envoy-protos.ts';
import { StreamQueue } from './stream-queue.ts';

export interface SdsSecret {
  readonly name: string;
  readonly tls?: { readonly chain: string; readonly key: string };
  readonly root?: string;
}

export interface SdsAnswer {
  readonly version: string;
  readonly nonce: string;
  readonly secrets: SdsSecret[];
}

function inline(ds: unknown): string {
  const b = (ds as { inline_bytes?: Uint8Array } | undefined)?.inline_bytes;
  return b ? Buffer.from(b).toString('utf8') : '';
}

/** A DiscoveryResponse's secrets, each checked against Envoy's Secret message. */
export function decodeSecrets(bytes: Uint8Array): SdsAnswer {
  const r = decodeDiscoveryResponse(bytes);
  assert.equal(r.typeUrl, TypeUrl.Secret);
  return {
    version: r.versionInfo,
    nonce: r.nonce,
    secrets: r.resources.map((a) => {
      assert.equal(a.typeUrl, TypeUrl.Secret);
      assertNoUnknownFields(TypeUrl.Secret, a.value);
      const s = decodeMessage(TypeUrl.Secret, a.value) as {
        name: string;
        tls_certificate?: { certificate_chain: unknown; private_key: unknown };
        validation_context?: { trusted_ca: unknown };
      };
      return {
        name: s.name,
        ...(s.tls_certificate
          ? {
              tls: {
                chain: inline(s.tls_certificate.certificate_chain),
                key: inline(s.tls_certificate.private_key),
              },
            }
          : {}),
        ...(s.validation_context ? { root: inline(s.validation_context.trusted_ca) } : {}),
      };
    }),
  };
}

/** A Secret DiscoveryRequest; `error` makes it a NACK. */
export function secretRequest(
  names: readonly string[],
  o: { readonly nodeId?: string; readonly nonce?: string; readonly error?: string } = {},
): Buffer {
  return Buffer.from(
    encodeDiscoveryRequest({
      typeUrl: TypeUrl.Secret,
      resourceNames: [...names],
      responseNonce: o.nonce ?? '',
      ...(o.nodeId === undefined ? {} : { node: { id: o.nodeId } }),
      ...(o.error === undefined ? {} : { errorDetail: { code: 3, message: o.error } }),
    }),
  );
}

const Client = rawClient(SdsService, 'SecretDiscoveryService');

export class SdsTestClient {
  private readonly client: grpc.Client;
  private readonly calls: grpc.ClientDuplexStream<Buffer, Buffer>[] = [];

  /** `unix:/path/SDS` or host:port. */
  constructor(target: string) {
    loadAgentProtos();
    this.client = new Client(target, grpc.credentials.createInsecure());
  }

  /** A StreamSecrets call and a queue of what it receives. */
  stream(): { call: grpc.ClientDuplexStream<Buffer, Buffer>; q: StreamQueue<Buffer> } {
    const method = (
      this.client as unknown as Record<string, () => grpc.ClientDuplexStream<Buffer, Buffer>>
    )['StreamSecrets'];
    if (!method) throw new Error('no StreamSecrets');
    const call = method.call(this.client);
    this.calls.push(call);
    return { call, q: new StreamQueue<Buffer>(call) };
  }

  /** One FetchSecrets call. */
  fetch(request: Buffer): Promise<SdsAnswer> {
    const def = SdsService['FetchSecrets'];
    if (!def) return Promise.reject(new Error('no FetchSecrets'));
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        def.path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        (err, res) => {
          if (err || !res) reject(err ?? new Error('empty answer'));
          else resolve(decodeSecrets(res));
        },
      );
    });
  }

  close(): void {
    for (const c of this.calls) c.cancel();
    this.client.close();
  }
}

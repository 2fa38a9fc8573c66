/**
 * The ADS gRPC service on @grpc/grpc-js: `envoy.service.discovery.v3.AggregatedDiscoveryService/
 * StreamAggregatedResources`, state of the world. Requests are decoded with Envoy's protos;
 * responses go out as bytes already encoded by the connection. Errors map to gRPC status here.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, errorMessage, isIstioLiteError } from '../../lib/errors.ts';
import { bindServer, grpcAddress, stopServer } from '../../lib/grpc/server-lifecycle.ts';
import type { Logger } from '../../lib/log.ts';
import {
  decodeDiscoveryRequest,
  encodeDiscoveryRequest,
  decodeDiscoveryResponse,
  type DiscoveryRequest,
} from '../../lib/xds/discovery-wire.ts';
import {
  decodeDeltaDiscoveryRequest,
  decodeDeltaDiscoveryResponse,
  encodeDeltaDiscoveryRequest,
  type DeltaDiscoveryRequest,
} from '../../lib/xds/delta-wire.ts';
import type { Connection } from './connection.ts';
import type { DiscoveryServer } from './discovery.ts';

const service = '/envoy.service.discovery.v3.AggregatedDiscoveryService';
export const AdsPath = `${service}/StreamAggregatedResources`;
export const DeltaAdsPath = `${service}/DeltaAggregatedResources`;

const asBuffer = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** The service definition, with our own (pre-encoded) serialization. */
export const adsService: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: AdsPath,
    requestStream: true,
    responseStream: true,
    requestSerialize: (r: Parameters<typeof encodeDiscoveryRequest>[0]) =>
      Buffer.from(encodeDiscoveryRequest(r)),
    requestDeserialize: (b: Buffer): DiscoveryRequest => decodeDiscoveryRequest(b),
    responseSerialize: asBuffer,
    responseDeserialize: (b: Buffer) => decodeDiscoveryResponse(b),
  },
  DeltaAggregatedResources: {
    path: DeltaAdsPath,
    requestStream: true,
    responseStream: true,
    requestSerialize: (r: Parameters<typeof encodeDeltaDiscoveryRequest>[0]) =>
      Buffer.from(encodeDeltaDiscoveryRequest(r)),
    requestDeserialize: (b: Buffer): DeltaDiscoveryRequest => decodeDeltaDiscoveryRequest(b),
    responseSerialize: asBuffer,
    responseDeserialize: (b: Buffer) => decodeDeltaDiscoveryResponse(b),
  },
};

function toStatus(e: unknown): Partial<grpc.StatusObject> {
  const code =
    isIstioLiteError(e) && (e.code === ErrorCode.InvalidInput || e.code === ErrorCode.InvalidObject)
      ? grpc.status.INVALID_ARGUMENT
      : grpc.status.INTERNAL;
  return { code, details: errorMessage(e) };
}

export interface AdsServerOptions {
  readonly discovery: DiscoveryServer;
  readonly logger: Logger;
}

export class AdsServer {
  private readonly server = new grpc.Server({
    // Envoy keeps ADS streams for hours; let keepalives find dead peers.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  private readonly streams = new Set<grpc.ServerDuplexStream<unknown, Uint8Array>>();
  private readonly o: AdsServerOptions;

  constructor(o: AdsServerOptions) {
    this.o = o;
    this.server.addService(adsService, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, Uint8Array>) => {
        this.handle(call, 'sotw', (conn, req) => {
          conn.onRequest(req);
        });
      },
      DeltaAggregatedResources: (
        call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, Uint8Array>,
      ) => {
        this.handle(call, 'delta', (conn, req) => {
          conn.onDeltaRequest(req);
        });
      },
    });
  }

  private handle<Req>(
    call: grpc.ServerDuplexStream<Req, Uint8Array>,
    mode: 'sotw' | 'delta',
    onRequest: (conn: Connection, req: Req) => void,
  ): void {
    const conn = this.o.discovery.connect((bytes, flushed) => {
      call.write(bytes, flushed);
    }, mode);
    this.streams.add(call);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.streams.delete(call);
      this.o.discovery.disconnect(conn);
    };
    call.on('data', (req: Req) => {
      try {
        onRequest(conn, req);
      } catch (e) {
        this.o.logger.warn({ conn: conn.id, err: errorMessage(e) }, 'ADS stream refused');
        finish();
        call.emit('error', toStatus(e));
      }
    });
    call.on('end', () => {
      finish();
      call.end();
    });
    call.on('cancelled', finish);
    call.on('error', finish);
    call.on('close', finish);
  }

  /** Listens on host:port (port 0 picks one); resolves to the bound port. */
  listen(host: string, port: number): Promise<number> {
    return bindServer(
      this.server,
      grpcAddress(host, port),
      grpc.ServerCredentials.createInsecure(),
    );
  }

  /** Ends every stream (clients reconnect elsewhere) and stops. */
  async close(): Promise<void> {
    for (const call of this.streams) call.end();
    await stopServer(this.server, 1000);
  }
}

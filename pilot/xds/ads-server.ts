/**
 * The ADS gRPC service on @grpc/grpc-js: `envoy.service.discovery.v3.AggregatedDiscoveryService/
 * StreamAggregatedResources`, state of the world. Requests are decoded with Envoy's protos;
 * responses go out as bytes already encoded by the connection. Errors map to gRPC status in
 * lib/grpc/status.ts: a refused stream (no node id, an undecodable request) is INVALID_ARGUMENT
 * with what was wrong; anything unexpected is INTERNAL, its detail logged.
 *
 * A state-of-the-world request of type `istio.io/debug` is not a proxy's: it is answered at once
 * with the debug page its one resource name asks for (`syncz`, `config_dump?proxyID=…`), as
 * Istio's debug generator does, and the stream never counts as a connected proxy.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, IstioLiteError, errorMessage, isIstioLiteError } from '../../lib/errors.ts';
import { bindServer, grpcAddress, stopServer } from '../../lib/grpc/server-lifecycle.ts';
import { failedCall } from '../../lib/grpc/status.ts';
import type { Logger } from '../../lib/log.ts';
import { DebugTypeUrl } from '../../lib/xds/debug-pages.ts';
import {
  decodeDiscoveryRequest,
  encodeAny,
  encodeDiscoveryRequest,
  encodeDiscoveryResponse,
  decodeDiscoveryResponse,
  type DiscoveryRequest,
  type NamesHistory,
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

/**
 * The server's side of `adsService`: requests arrive as bytes and are decoded in the handler, so
 * an undecodable one is refused as INVALID_ARGUMENT (grpc-js would answer INTERNAL).
 */
const adsServerService: grpc.ServiceDefinition = Object.fromEntries(
  Object.entries(adsService).map(([name, def]) => [
    name,
    { ...def, requestDeserialize: (b: Buffer) => b },
  ]),
);

function decoded<Req>(
  decode: (bytes: Uint8Array, history?: NamesHistory) => Req,
  bytes: Buffer,
  history?: NamesHistory,
): Req {
  try {
    return decode(bytes, history);
  } catch (e) {
    throw new IstioLiteError(
      ErrorCode.InvalidRequest,
      `the request could not be decoded: ${errorMessage(e)}`,
      { cause: e },
    );
  }
}

const internalMessage = 'internal error in Pilot';

export interface AdsServerOptions {
  readonly discovery: DiscoveryServer;
  readonly logger: Logger;
  /** Answers debug requests (pilot/debug.ts); without it they are refused. */
  readonly debug?: (resourceName: string) => { readonly status: number; readonly body: unknown };
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
  private debugNonce = 0;

  constructor(o: AdsServerOptions) {
    this.o = o;
    this.server.addService(adsServerService, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Uint8Array>) => {
        this.handle(call, 'sotw', (bytes, conn) => {
          const req = decoded(decodeDiscoveryRequest, bytes, conn);
          if (req.typeUrl === DebugTypeUrl) {
            call.write(this.debugResponse(req));
            return undefined;
          }
          return (conn) => {
            conn.onRequest(req);
          };
        });
      },
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Uint8Array>) => {
        this.handle(call, 'delta', (bytes) => {
          const req = decoded(decodeDeltaDiscoveryRequest, bytes);
          return (conn) => {
            conn.onDeltaRequest(req);
          };
        });
      },
    });
  }

  /**
   * One stream. `onRequest` decodes a request and returns what to do with the stream's proxy
   * connection, or undefined when it answered the request itself (debug); the connection is
   * opened with the first request that needs it.
   */
  private handle(
    call: grpc.ServerDuplexStream<Buffer, Uint8Array>,
    mode: 'sotw' | 'delta',
    onRequest: (
      bytes: Buffer,
      conn: Connection | undefined,
    ) => ((conn: Connection) => void) | undefined,
  ): void {
    let conn: Connection | undefined;
    this.streams.add(call);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.streams.delete(call);
      if (conn) this.o.discovery.disconnect(conn);
    };
    call.on('data', (bytes: Buffer) => {
      try {
        const apply = onRequest(bytes, conn);
        if (!apply || done) return;
        conn ??= this.o.discovery.connect((out, flushed) => {
          call.write(out, flushed);
        }, mode);
        apply(conn);
      } catch (e) {
        // A refusal (bad node id, undecodable request) is the proxy's; anything else is logged
        // with its detail by failedCall and the proxy reads only the generic message.
        const id = conn?.id ?? 'ads-new';
        if (isIstioLiteError(e)) {
          this.o.logger.warn({ conn: id, err: errorMessage(e) }, 'ADS stream refused');
        }
        finish();
        call.emit('error', failedCall(e, internalMessage, this.o.logger, { conn: id }));
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

  /** The answer to a debug request: its page's JSON as the one resource, or `{error}`. */
  private debugResponse(req: DiscoveryRequest): Uint8Array {
    const [name, ...more] = req.resourceNames;
    let body: unknown;
    if (name === undefined || more.length > 0) {
      body = { error: 'a debug request names exactly one page (e.g. syncz)' };
    } else if (!this.o.debug) {
      body = { error: 'debug pages are not served here' };
    } else {
      body = this.o.debug(name).body;
    }
    const json = new TextEncoder().encode(JSON.stringify(body));
    return encodeDiscoveryResponse({
      versionInfo: '',
      resources: [encodeAny(DebugTypeUrl, json)],
      typeUrl: DebugTypeUrl,
      nonce: String(++this.debugNonce),
      controlPlane: 'istio-lite-pilot',
    });
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

/**
 * Reads one of Pilot's debug pages over its xDS port: a state-of-the-world ADS stream carrying one
 * request of type `istio.io/debug` whose resource name is the page (`proxy_status`,
 * `config_dump?proxyID=…`); the answer's one resource holds the page's JSON
 * (lib/xds/debug-pages.ts). What `istio-lite proxy-status --xdsAddress` uses, as `istioctl
 * --xds-address` does.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { isObject } from '../json.ts';
import { DebugTypeUrl } from './debug-pages.ts';
import { decodeDiscoveryResponse, encodeDiscoveryRequest } from './discovery-wire.ts';

type Response = ReturnType<typeof decodeDiscoveryResponse>;

const definition: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    requestStream: true,
    responseStream: true,
    requestSerialize: (r: Parameters<typeof encodeDiscoveryRequest>[0]) =>
      Buffer.from(encodeDiscoveryRequest(r)),
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Uint8Array) => Buffer.from(b),
    responseDeserialize: (b: Buffer) => decodeDiscoveryResponse(b),
  },
};

const Client = grpc.makeGenericClientConstructor(definition, 'AggregatedDiscoveryService');

/** The node id the debug stream presents (Pilot answers debug requests before reading it). */
const debugNode = { id: 'istio-lite-cli~0.0.0.0~istio-lite.default~default.svc.cluster.local' };

/**
 * Fetches `page` from the Pilot at `address` (`host:port` of its xDS port). Rejects with an
 * External error naming the address when Pilot cannot be reached in `timeoutMs`, and with the
 * page's own error (`{error}` in its JSON) when Pilot refused the request.
 */
export function fetchDebugOverXds(
  address: string,
  page: string,
  timeoutMs = 5000,
): Promise<unknown> {
  const client = new Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  return new Promise<unknown>((resolve, reject) => {
    let settled = false;
    const method = (
      client as unknown as Record<
        string,
        (o: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, Response>
      >
    )['StreamAggregatedResources'];
    if (!method)
      throw new IstioLiteError(ErrorCode.Internal, 'no StreamAggregatedResources method');
    const call = method.call(client, { deadline: Date.now() + timeoutMs });
    const done = (e: Error | undefined, v?: unknown) => {
      if (settled) return;
      settled = true;
      call.cancel();
      client.close();
      if (e) reject(e);
      else resolve(v);
    };
    call.on('data', (r: Response) => {
      const value = r.resources[0]?.value;
      if (r.typeUrl !== DebugTypeUrl || value === undefined) {
        done(
          new IstioLiteError(
            ErrorCode.External,
            `${address} answered the debug request with type "${r.typeUrl}": is it istio-lite's Pilot?`,
          ),
        );
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder().decode(value));
      } catch (e) {
        done(
          new IstioLiteError(ErrorCode.External, `${address}: the ${page} page is not JSON`, {
            cause: e,
          }),
        );
        return;
      }
      if (isObject(body) && typeof body['error'] === 'string' && Object.keys(body).length === 1) {
        done(new IstioLiteError(ErrorCode.External, `Pilot at ${address}: ${body['error']}`));
        return;
      }
      done(undefined, body);
    });
    call.on('error', (e: grpc.ServiceError) => {
      const why =
        e.code === grpc.status.DEADLINE_EXCEEDED
          ? `no answer in ${String(timeoutMs / 1000)}s`
          : e.details;
      done(
        new IstioLiteError(ErrorCode.External, `Pilot at ${address} (xDS) is unreachable: ${why}`, {
          cause: e,
        }),
      );
    });
    call.on('end', () => {
      done(
        new IstioLiteError(
          ErrorCode.External,
          `Pilot at ${address} closed the stream without an answer`,
        ),
      );
    });
    call.write({ node: debugNode, typeUrl: DebugTypeUrl, resourceNames: [page] });
  });
}

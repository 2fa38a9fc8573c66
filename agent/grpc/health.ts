/**
 * The standard gRPC health service (`grpc.health.v1.Health/Check`): `HealthCheckRequest
 * { string service = 1 }` and `HealthCheckResponse { ServingStatus status = 1 }`, two one-field
 * messages encoded here by hand. The agent calls it for rewritten gRPC probes; tests serve it.
 */
import { Client, credentials, status as grpcStatus, type ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export const ServingStatus = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
} as const;

export type ServingStatus = (typeof ServingStatus)[keyof typeof ServingStatus];

function encodeRequest(service: string): Buffer {
  const w = protobuf.Writer.create();
  if (service !== '') w.uint32((1 << 3) | 2).string(service);
  return Buffer.from(w.finish());
}

function decodeRequest(b: Buffer): string {
  const r = protobuf.Reader.create(b);
  let service = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) service = r.string();
    else r.skipType(tag & 7);
  }
  return service;
}

function encodeResponse(s: ServingStatus): Buffer {
  const w = protobuf.Writer.create();
  if (s !== 0) w.uint32(1 << 3).int32(s);
  return Buffer.from(w.finish());
}

function decodeResponse(b: Buffer): number {
  const r = protobuf.Reader.create(b);
  let s = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) s = r.int32();
    else r.skipType(tag & 7);
  }
  return s;
}

export const HealthService: ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (service: string) => encodeRequest(service),
    requestDeserialize: decodeRequest,
    responseSerialize: (s: ServingStatus) => encodeResponse(s),
    responseDeserialize: decodeResponse,
    originalName: 'Check',
  },
};

/** Handlers answering from `statusOf(service)`; an unknown service is NOT_FOUND, as the spec says. */
export function healthHandlers(statusOf: (service: string) => ServingStatus | undefined): {
  Check: (
    call: { request: string },
    cb: (err: { code: number; details: string } | null, res?: ServingStatus) => void,
  ) => void;
} {
  return {
    Check: (call, cb) => {
      const s = statusOf(call.request);
      if (s === undefined)
        cb({ code: grpcStatus.NOT_FOUND, details: `unknown service "${call.request}"` });
      else cb(null, s);
    },
  };
}

/** One Check call; resolves with the status number, rejects with the gRPC error. */
export function checkHealth(target: string, service: string, timeoutMs: number): Promise<number> {
  const client = new Client(target, credentials.createInsecure());
  const def = HealthService['Check'];
  if (def === undefined) return Promise.reject(new Error('no Check method'));
  return new Promise<number>((resolve, reject) => {
    client.makeUnaryRequest(
      def.path,
      (s: string) => encodeRequest(s),
      decodeResponse,
      service,
      { deadline: Date.now() + timeoutMs },
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res ?? 0);
      },
    );
  });
}

/**
 * gRPC service definitions from .proto files (via @grpc/proto-loader), with field names as in the
 * .proto (`csr_pem`, not `csrPem`), int64 as JS numbers, and the googleapis tree that
 * `@grpc/grpc-js-xds` ships on the include path (google/rpc/status.proto). A typed unary client
 * call over any service definition, so callers never touch untyped generated clients.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Client,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ErrorCode, IstioLiteError } from '../errors.ts';

function googleapisDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps', 'googleapis');
}

/** Loads `files` (relative to `protoDir`) and returns the named services' definitions. */
export function loadServices(
  protoDir: string,
  files: readonly string[],
  serviceNames: readonly string[],
): Map<string, ServiceDefinition> {
  const pkg = loadSync([...files], {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [protoDir, googleapisDir()],
  });
  const out = new Map<string, ServiceDefinition>();
  for (const n of serviceNames) {
    const def = pkg[n];
    if (def === undefined || 'format' in def) {
      throw new IstioLiteError(ErrorCode.Internal, `service ${n} not found in ${files.join(', ')}`);
    }
    out.set(n, def);
  }
  return out;
}

export type UnaryCaller = (
  method: string,
  request: object,
  options?: { metadata?: Metadata; deadlineMs?: number },
) => Promise<unknown>;

/** A client for `service` whose calls resolve with the decoded (untyped) response. */
export function unaryClient(
  service: ServiceDefinition,
  address: string,
  credentials: ChannelCredentials,
  channelOptions: ChannelOptions = {},
): { call: UnaryCaller; close: () => void } {
  const client = new Client(address, credentials, channelOptions);
  const call: UnaryCaller = (method, request, options = {}) => {
    const def = service[method];
    if (def === undefined) {
      return Promise.reject(new IstioLiteError(ErrorCode.Internal, `no method ${method}`));
    }
    const callOptions: CallOptions = {};
    if (options.deadlineMs !== undefined) callOptions.deadline = Date.now() + options.deadlineMs;
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        def.path,
        (v: object) => def.requestSerialize(v),
        (b: Buffer): unknown => def.responseDeserialize(b),
        request,
        options.metadata ?? new Metadata(),
        callOptions,
        (err: ServiceError | null, res?: unknown) => {
          if (err) reject(err);
          else resolve(res);
        },
      );
    });
  };
  return {
    call,
    close: () => {
      client.close();
    },
  };
}

/**
 * A gRPC service of raw bytes for transport tests (`/test.Echo/<name>`): requests and responses
 * are the message bytes as they are, so a test sees exactly what crossed the wire.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';

const same = (b: Buffer): Buffer => b;

/** `names` as unary methods, and `streaming` as client-streaming ones. */
export function bytesService(
  names: readonly string[],
  streaming: readonly string[] = [],
): ServiceDefinition {
  const def = (name: string, requestStream: boolean) => ({
    path: `/test.Echo/${name}`,
    requestStream,
    responseStream: false,
    requestSerialize: same,
    requestDeserialize: same,
    responseSerialize: (b: Uint8Array) => Buffer.from(b),
    responseDeserialize: same,
    originalName: name,
  });
  return Object.fromEntries([
    ...names.map((n) => [n, def(n, false)]),
    ...streaming.map((n) => [n, def(n, true)]),
  ]) as ServiceDefinition;
}

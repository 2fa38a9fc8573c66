/**
 * gRPC service definitions whose messages stay bytes: the agent decodes the few fields it reads
 * itself (agent/wire) and forwards or answers with bytes it encoded, so @grpc/grpc-js never needs
 * Envoy's proto tree. Used by the local servers Envoy talks to and by the xDS proxy's upstream.
 */
import { Client, makeGenericClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const identity = (b: Buffer): Buffer => b;

export interface RawMethod {
  readonly name: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/** A service `package.Service` whose methods take and return raw message bytes. */
export function rawService(fullName: string, methods: readonly RawMethod[]): ServiceDefinition {
  const def: Record<string, ServiceDefinition[string]> = {};
  for (const m of methods) {
    def[m.name] = {
      path: `/${fullName}/${m.name}`,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: toBuffer,
      requestDeserialize: identity,
      responseSerialize: toBuffer,
      responseDeserialize: identity,
      originalName: m.name,
    };
  }
  return def;
}

export const AdsService = rawService('envoy.service.discovery.v3.AggregatedDiscoveryService', [
  { name: 'StreamAggregatedResources', requestStream: true, responseStream: true },
]);

export const SdsService = rawService('envoy.service.secret.v3.SecretDiscoveryService', [
  { name: 'StreamSecrets', requestStream: true, responseStream: true },
  { name: 'FetchSecrets', requestStream: false, responseStream: false },
]);

export const AuthorizationService = rawService('envoy.service.auth.v3.Authorization', [
  { name: 'Check', requestStream: false, responseStream: false },
]);

export const AccessLogService = rawService('envoy.service.accesslog.v3.AccessLogService', [
  { name: 'StreamAccessLogs', requestStream: true, responseStream: false },
]);

/** A generic client constructor for one of the services above (tests, the xDS proxy). */
export function rawClient(service: ServiceDefinition, name: string): typeof Client {
  return makeGenericClientConstructor(service, name);
}

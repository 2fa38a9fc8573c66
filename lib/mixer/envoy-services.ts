/**
 * Envoy's services that Mixer (and the agent) serve to an unmodified Envoy, loaded once from the
 * data-plane-api tree that @grpc/grpc-js-xds ships: ext_authz (`envoy.service.auth.v3.
 * Authorization`), access log streaming (`envoy.service.accesslog.v3.AccessLogService`) and rate
 * limiting (`envoy.service.ratelimit.v3.RateLimitService`). Field names as in the .proto files,
 * int64 as JS numbers, enums as names, no default values filled in (Envoy's messages are large).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export const EnvoyService = {
  Authorization: 'envoy.service.auth.v3.Authorization',
  AccessLog: 'envoy.service.accesslog.v3.AccessLogService',
  RateLimit: 'envoy.service.ratelimit.v3.RateLimitService',
} as const;

export type EnvoyService = (typeof EnvoyService)[keyof typeof EnvoyService];

const files = [
  'envoy/service/auth/v3/external_auth.proto',
  'envoy/service/accesslog/v3/als.proto',
  'envoy/service/ratelimit/v3/rls.proto',
];

function includeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const xds = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const pbjs = dirname(require.resolve('protobufjs/package.json'));
  return [
    ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(xds, 'deps', d)),
    pbjs,
  ];
}

let services: Map<EnvoyService, ServiceDefinition> | undefined;

export function envoyService(name: EnvoyService): ServiceDefinition {
  if (!services) {
    const pkg = loadSync(files, {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: false,
      oneofs: true,
      includeDirs: includeDirs(),
    });
    const m = new Map<EnvoyService, ServiceDefinition>();
    for (const n of Object.values(EnvoyService)) {
      const def = pkg[n];
      if (def === undefined || 'format' in def) throw new Error(`service ${n} not found`);
      m.set(n, def);
    }
    services = m;
  }
  const s = services.get(name);
  if (!s) throw new Error(`service ${name} not loaded`);
  return s;
}

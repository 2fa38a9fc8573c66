/**
 * Envoy protos the agent's messages are checked against in tests, loaded into the shared root of
 * lib/xds/protos.ts on top of what Pilot needs: tracing, stats sinks, ext_authz, access logs.
 * The agent itself never loads these at run time (it writes JSON and small hand-encoded messages).
 */
import { loadExtraProtos } from '../../lib/xds/protos.ts';

export const agentProtoFiles: readonly string[] = [
  'envoy/config/trace/v3/zipkin.proto',
  'envoy/config/metrics/v3/stats.proto',
  'envoy/service/auth/v3/external_auth.proto',
  'envoy/service/accesslog/v3/als.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/access_loggers/grpc/v3/als.proto',
  'envoy/service/secret/v3/sds.proto',
];

export function loadAgentProtos(): void {
  loadExtraProtos(agentProtoFiles);
}

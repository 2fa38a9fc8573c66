/**
 * The baseline of bench/agent's capacity section: a no-op ext_authz server on @grpc/grpc-js (the
 * server the agent's MIXER socket had before lib/grpc/h2-server.ts), bound to a Unix socket as
 * the agent's is, answering every Check with the same encoded OK at once (no decoding): what any
 * grpc-js service pays per call. Prints `ready` once bound.
 *
 *   noop-authz.ts SOCKET_PATH
 */
import { Server, ServerCredentials, type sendUnaryData } from '@grpc/grpc-js';
import { AuthorizationService } from '../../agent/grpc/raw-service.ts';
import { encodeAuthzResponse } from '../../agent/mixer/envoy-wire.ts';

const [path = ''] = process.argv.slice(2);
const ok = encodeAuthzResponse({ code: 0, message: '' }, true);
const server = new Server({
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.keepalive_time_ms': 60_000,
});
server.addService(AuthorizationService, {
  Check: (_call: unknown, cb: sendUnaryData<Uint8Array>) => {
    cb(null, ok);
  },
});
server.bindAsync(`unix:${path}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});

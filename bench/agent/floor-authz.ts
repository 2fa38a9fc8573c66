/**
 * The floor of bench/agent's capacity section: bare node:http2 on a Unix socket answering every
 * ext_authz Check with the same framed OK and trailers, reading nothing of the request and checking
 * nothing of gRPC: the least any gRPC server on node:http2 (the agent's lib/grpc/h2-server.ts) pays
 * per call, and the latency it gets on the same core and load. Prints `ready` once bound.
 *
 *   floor-authz.ts SOCKET_PATH
 */
import { createServer } from 'node:http2';
import { encodeAuthzResponse } from '../../agent/mixer/envoy-wire.ts';
import { frameMessage } from '../../lib/grpc/h2-frames.ts';

const [path = ''] = process.argv.slice(2);
const ok = frameMessage(encodeAuthzResponse({ code: 0, message: '' }, true));
// `sendDate` (no date header) is honoured by node:http2 but missing from its types.
const options = { waitForTrailers: true, sendDate: false };
const server = createServer();
server.on('stream', (stream) => {
  stream.on('error', () => undefined);
  stream.on('data', () => undefined);
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, options);
    stream.once('wantTrailers', () => {
      stream.sendTrailers({ 'grpc-status': '0' });
    });
    stream.end(ok);
  });
});
server.listen(path, () => {
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});

/**
 * The floor of the gRPC benches (bench/agent, bench/mixer): bare node:http2 answering every call
 * with the same framed message and an OK status, reading nothing of the request and checking
 * nothing of gRPC: the least any gRPC server on node:http2 (lib/grpc/h2-server.ts) pays per call.
 */
import { createServer, type Http2Server } from 'node:http2';
import { frameMessage } from '../lib/grpc/h2-frames.ts';

export function floorServer(answer: Uint8Array): Http2Server {
  const ok = frameMessage(answer);
  // `sendDate` (no date header) is honoured by node:http2 but missing from its types.
  const options = { waitForTrailers: true, sendDate: false };
  const server = createServer();
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    stream.on('end', () => {
      stream.respond([':status', '200', 'content-type', 'application/grpc'], options);
      stream.once('wantTrailers', () => {
        stream.sendTrailers({ 'grpc-status': '0' });
      });
      stream.end(ok);
    });
  });
  return server;
}

/**
 * The floor of the gRPC benches (bench/agent, bench/mixer): the HTTP/2 transport the hot servers
 * use (lib/h2) answering every call with the same framed message and an OK status, reading
 * nothing of the request and checking nothing of gRPC: the least lib/grpc/h2-server.ts pays per
 * call on top of its own gRPC work.
 */
import { createServer, type Server } from 'node:net';
import { frameMessage } from '../lib/grpc/h2-frames.ts';
import { okHeaders, okTrailers } from '../lib/grpc/h2-server-call.ts';
import { H2Connection } from '../lib/h2/connection.ts';

export function floorServer(answer: Uint8Array): Server {
  const ok = frameMessage(answer);
  return createServer((socket) => {
    new H2Connection(socket, {
      maxConcurrentStreams: 4096,
      maxHeaderListSize: 65_536,
      onStream: (stream) => {
        stream.listener = {
          data: () => undefined,
          end: () => {
            stream.respond(okHeaders);
            stream.end(ok, okTrailers);
          },
          close: () => undefined,
        };
      },
    });
  });
}

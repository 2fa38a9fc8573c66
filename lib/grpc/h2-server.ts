/**
 * A gRPC server for unary and client-streaming methods on our own HTTP/2 connection handling
 * (lib/h2: frames, HPACK, flow control over a plain socket), without @grpc/grpc-js's per-call
 * machinery (about 50 µs of CPU a call) or node:http2's (about 25 µs; ours is a few): the hot
 * request paths (the agent's ext_authz, Mixer's Check) are served with it, grpc-js keeps the
 * streaming xDS and SDS. It takes grpc-js `ServiceDefinition`s (path, requestDeserialize,
 * responseSerialize, requestStream/responseStream) and speaks the wire protocol of
 * docs/reference/grpc-http2.md: length-prefixed messages (h2-frames.ts), `grpc-status`/
 * `grpc-message` trailers, a Trailers-Only response for an error, `grpc-timeout`, UNIMPLEMENTED
 * for an unknown method or an unsupported `grpc-encoding` (gzip and deflate are read), INTERNAL
 * for a compressed message without an encoding, RESOURCE_EXHAUSTED for a message over the limit,
 * 415 for a request that is not gRPC.
 *
 * Listens on a Unix socket or host:port, cleartext HTTP/2 with prior knowledge (as gRPC clients
 * and Envoy speak it to a local server). `close(grace)` refuses new calls (GOAWAY), lets calls in
 * flight finish, and cuts the rest after the grace.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { H2Connection } from '../h2/connection.ts';
import { ErrorCode } from '../h2/frames.ts';
import { encodeHeaders } from '../h2/hpack.ts';
import type { H2Stream } from '../h2/stream.ts';
import { hostPort, listenError } from '../listen.ts';
import type { H2Handler } from './h2-call.ts';
import { parseTimeout } from './h2-frames.ts';
import { acceptEncoding, ServerCall, trailersOnly, type Method } from './h2-server-call.ts';

export { H2Call, type H2Handler, type StreamReceiver } from './h2-call.ts';
export { FramedResponse } from './h2-frames.ts';

export interface H2GrpcServerOptions {
  /** The largest request message accepted, decompressed (default 4 MiB, as grpc-js). */
  readonly maxReceiveMessageLength?: number;
  /** TCP keepalive probes on idle connections after this long (default 60 s; not for Unix sockets). */
  readonly keepaliveMs?: number;
}

export type ListenTarget =
  { readonly path: string } | { readonly host: string; readonly port: number };

export class H2GrpcServer {
  private readonly server: Server;
  private readonly methods = new Map<string, Method>();
  private readonly connections = new Set<H2Connection>();
  private readonly maxReceive: number;
  private readonly keepaliveMs: number;
  private closing: Promise<void> | undefined;
  /** Calls started and not yet finished (tests, drain). */
  inFlight = 0;

  constructor(options: H2GrpcServerOptions = {}) {
    this.maxReceive = options.maxReceiveMessageLength ?? 4 * 1024 * 1024;
    this.keepaliveMs = options.keepaliveMs ?? 60_000;
    this.server = createServer((socket) => {
      this.onConnection(socket);
    });
  }

  /**
   * Serves `service`'s methods named in `handlers`; the others answer UNIMPLEMENTED. A handler
   * must match its method's kind (`unary` or `clientStream`); server streaming is not served here.
   */
  addService(service: ServiceDefinition, handlers: Readonly<Record<string, H2Handler>>): void {
    for (const [name, handler] of Object.entries(handlers)) {
      const def = service[name];
      if (def === undefined) throw new Error(`the service has no method ${name}`);
      if (def.responseStream) throw new Error(`${def.path}: server streaming is not served here`);
      const kind = def.requestStream ? 'clientStream' : 'unary';
      if (!(kind in handler)) throw new Error(`${def.path} needs a ${kind} handler`);
      if (this.methods.has(def.path)) throw new Error(`${def.path} is served already`);
      this.methods.set(def.path, {
        path: def.path,
        deserialize: (b) => def.requestDeserialize(b) as unknown,
        serialize: (r) => def.responseSerialize(r),
        handler,
      });
    }
  }

  /** Listens on a Unix socket path or host:port (port 0 picks one); resolves to the port (0 for a socket). */
  listen(target: ListenTarget): Promise<number> {
    const name = 'path' in target ? target.path : hostPort(target.host, target.port);
    return new Promise((resolve, reject) => {
      const onError = (e: unknown) => {
        reject(listenError(name, e));
      };
      this.server.once('error', onError);
      const done = () => {
        this.server.off('error', onError);
        const a = this.server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      };
      if ('path' in target) this.server.listen(target.path, done);
      else this.server.listen(target.port, target.host, done);
    });
  }

  /**
   * Stops accepting connections, sends GOAWAY on every open one (no new calls) and waits for
   * calls in flight; after `graceMs` the connections still open are cut. Safe to call twice, and
   * on a server that never listened.
   */
  close(graceMs = 10_000): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const c of this.connections) c.destroy();
      }, graceMs);
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const c of this.connections) c.goAway();
    });
    return this.closing;
  }

  private onConnection(socket: Socket): void {
    if (socket.remoteAddress !== undefined) socket.setKeepAlive(true, this.keepaliveMs);
    const connection = new H2Connection(socket, {
      onStream: (stream) => {
        this.onStream(stream);
      },
      maxConcurrentStreams: 4096,
      maxHeaderListSize: 64 * 1024,
    });
    this.connections.add(connection);
    connection.onClose = () => this.connections.delete(connection);
    if (this.closing) connection.goAway();
  }

  private onStream(stream: H2Stream): void {
    const { headers } = stream;
    const contentType = firstValue(headers['content-type']);
    if (headers[':method'] !== 'POST' || !contentType?.startsWith('application/grpc')) {
      // Not gRPC: an HTTP answer such a client understands (PROTOCOL-HTTP2.md: 415).
      respondHttp(stream, headers[':method'] === 'POST' ? 415 : 405);
      return;
    }
    const path = firstValue(headers[':path']) ?? '';
    const method = this.methods.get(path);
    if (method === undefined) {
      trailersOnly(stream, status.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    const encoding = firstValue(headers['grpc-encoding']) ?? 'identity';
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
      trailersOnly(
        stream,
        status.UNIMPLEMENTED,
        `grpc-encoding ${encoding} is not supported (supported: ${acceptEncoding})`,
      );
      return;
    }
    const timeout = parseTimeout(firstValue(headers['grpc-timeout']));
    if (Number.isNaN(timeout)) {
      trailersOnly(
        stream,
        status.INTERNAL,
        `malformed grpc-timeout ${String(headers['grpc-timeout'])}`,
      );
      return;
    }
    new ServerCall(stream, method, encoding, timeout, this.maxReceive, this);
  }
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function respondHttp(stream: H2Stream, code: number): void {
  if (stream.closed || stream.headersSent) return;
  stream.respond(encodeHeaders([[':status', String(code)]]), true);
  if (!stream.remoteEnded) stream.reset(ErrorCode.NO_ERROR);
}

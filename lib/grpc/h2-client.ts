/**
 * A gRPC client for unary calls on our own HTTP/2 client connection (lib/h2/client-connection.ts),
 * plaintext with prior knowledge, for a process that makes such calls at a high rate: the agent's
 * Check and Report to Mixer. A call is one header block (the fixed part encoded once per method),
 * one DATA frame and a small record; @grpc/grpc-js builds a call stack of filters, metadata,
 * promises and stream objects per call, and under load those lived long enough to be promoted
 * into the old generation (docs/design/2026-12-03-per-request-tails.md).
 *
 * The wire protocol is gRPC over HTTP/2 as in docs/reference/grpc-http2.md (primary source:
 * grpc/grpc doc/PROTOCOL-HTTP2.md): `te: trailers`, `grpc-timeout` from the deadline, messages
 * length-prefixed, status from `grpc-status`/`grpc-message` trailers or a Trailers-Only
 * response, an HTTP status other than 200 mapped as the spec's table says, RST_STREAM codes
 * mapped as it says (REFUSED_STREAM: UNAVAILABLE, so the caller may retry). Responses may be
 * gzip or deflate compressed. Errors carry `code` and `details` as grpc-js's do.
 */
import { connect, type Socket } from 'node:net';
import { status } from '@grpc/grpc-js';
import { H2ClientConnection, type ResponseListener } from '../h2/client-connection.ts';
import { ErrorCode } from '../h2/frames.ts';
import { encodeHeaders } from '../h2/hpack.ts';
import type { H2Headers } from '../h2/stream.ts';
import {
  decodeStatusMessage,
  decompress,
  frameMessage,
  MessageReader,
  tooLargeOutput,
} from './h2-frames.ts';

/** A failed call: a gRPC status code and its message. */
export class GrpcCallError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, details: string) {
    super(`${String(code)} ${status[code] ?? 'UNKNOWN'}: ${details}`);
    this.name = 'GrpcCallError';
    this.code = code;
    this.details = details;
  }
}

export interface H2GrpcClientOptions {
  /** The largest response message accepted (default 4 MiB, as grpc-js). */
  readonly maxReceiveMessageLength?: number;
  /** How long a connection attempt may take (default 20 s). */
  readonly connectTimeoutMs?: number;
}

export interface UnaryOptions {
  /** The call's deadline, from now. */
  readonly deadlineMs?: number;
  /** Request metadata (lower-case names; trace context, for one). */
  readonly metadata?: readonly (readonly [string, string])[];
}

/** gRPC's status for an HTTP status that is not 200 (PROTOCOL-HTTP2.md, "HTTP to gRPC Status"). */
function httpStatusCode(http: number): number {
  if (http === 400) return status.INTERNAL;
  if (http === 401) return status.UNAUTHENTICATED;
  if (http === 403) return status.PERMISSION_DENIED;
  if (http === 404) return status.UNIMPLEMENTED;
  if (http === 429 || http === 502 || http === 503 || http === 504) return status.UNAVAILABLE;
  return status.UNKNOWN;
}

/** gRPC's status for an RST_STREAM code (PROTOCOL-HTTP2.md, "Errors"). */
function resetCode(code: number): number {
  if (code === ErrorCode.REFUSED_STREAM) return status.UNAVAILABLE;
  if (code === ErrorCode.CANCEL) return status.CANCELLED;
  if (code === ErrorCode.ENHANCE_YOUR_CALM) return status.RESOURCE_EXHAUSTED;
  return status.INTERNAL;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `host:port`, `[v6]:port`, `dns:///host:port` or `unix:/path` (as grpc-js takes them). */
function parseTarget(target: string): { path: string } | { host: string; port: number } {
  if (target.startsWith('unix:'))
    return { path: target.slice('unix:'.length).replace(/^\/\//, '') };
  const t = target.replace(/^dns:\/{0,3}/, '');
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(t);
  const host = m?.[1] ?? m?.[2];
  if (m === null || host === undefined) throw new Error(`not host:port or unix:PATH: ${target}`);
  return { host, port: Number(m[3]) };
}

export class H2GrpcClient {
  private readonly target: ReturnType<typeof parseTarget>;
  private readonly name: string;
  private readonly authority: string;
  private readonly maxReceive: number;
  private readonly connectTimeoutMs: number;
  private readonly prefixes = new Map<string, Buffer>();
  private conn: H2ClientConnection | undefined;
  private connecting: Promise<H2ClientConnection> | undefined;
  /** Calls waiting for a stream (the server's limit of concurrent streams reached). */
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(target: string, o: H2GrpcClientOptions = {}) {
    this.target = parseTarget(target);
    this.name = target;
    this.authority = 'path' in this.target ? 'localhost' : target.replace(/^dns:\/{0,3}/, '');
    this.maxReceive = o.maxReceiveMessageLength ?? 4 * 1024 * 1024;
    this.connectTimeoutMs = o.connectTimeoutMs ?? 20_000;
  }

  /** Calls `path` with `message` (encoded); resolves to the response message's bytes. */
  async unary(path: string, message: Uint8Array, o: UnaryOptions = {}): Promise<Buffer> {
    const deadline = o.deadlineMs === undefined ? undefined : Date.now() + o.deadlineMs;
    let conn = await this.connection();
    while (!conn.usable) {
      if (conn.streams === 0 || this.conn !== conn) conn = await this.connection(true);
      else await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.closed) throw new GrpcCallError(status.CANCELLED, 'the client was closed');
    }
    const left = deadline === undefined ? undefined : deadline - Date.now();
    if (left !== undefined && left <= 0) {
      throw new GrpcCallError(status.DEADLINE_EXCEEDED, 'the deadline passed before the call');
    }
    return new Promise<Buffer>((resolve, reject) => {
      const call = new UnaryCall(this.maxReceive, resolve, reject, () => {
        this.waiting.shift()?.();
      });
      const stream = conn.request(
        this.headerBlock(path, left, o.metadata),
        frameMessage(message),
        call,
      );
      if (stream === undefined) {
        reject(new GrpcCallError(status.UNAVAILABLE, 'the connection closed'));
        return;
      }
      if (left !== undefined)
        call.deadline(left, o.deadlineMs ?? left, () => {
          conn.cancel(stream);
        });
    });
  }

  /** Closes the connection; calls in flight fail as UNAVAILABLE, waiting ones as CANCELLED. */
  close(): void {
    this.closed = true;
    this.conn?.close();
    this.conn = undefined;
    for (const w of this.waiting.splice(0)) w();
  }

  private headerBlock(
    path: string,
    timeoutMs: number | undefined,
    metadata: UnaryOptions['metadata'],
  ): Buffer {
    let prefix = this.prefixes.get(path);
    if (prefix === undefined) {
      prefix = encodeHeaders([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', path],
        [':authority', this.authority],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['grpc-accept-encoding', 'identity,deflate,gzip'],
      ]);
      this.prefixes.set(path, prefix);
    }
    const more: [string, string][] = [];
    if (timeoutMs !== undefined) {
      // At most eight digits (PROTOCOL-HTTP2.md): milliseconds up to a day, then seconds.
      const ms = Math.ceil(timeoutMs);
      more.push(['grpc-timeout', ms < 1e8 ? `${String(ms)}m` : `${String(Math.ceil(ms / 1000))}S`]);
    }
    if (metadata) for (const [k, v] of metadata) more.push([k, v]);
    return more.length === 0 ? prefix : Buffer.concat([prefix, encodeHeaders(more)]);
  }

  private connection(fresh = false): Promise<H2ClientConnection> {
    if (this.closed)
      return Promise.reject(new GrpcCallError(status.CANCELLED, 'the client was closed'));
    if (!fresh && this.conn !== undefined) return Promise.resolve(this.conn);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private open(): Promise<H2ClientConnection> {
    return new Promise((resolve, reject) => {
      const socket: Socket = connect(
        'path' in this.target ? { path: this.target.path } : this.target,
      );
      const timer = setTimeout(() => {
        socket.destroy(new Error(`no connection within ${String(this.connectTimeoutMs)} ms`));
      }, this.connectTimeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new GrpcCallError(status.UNAVAILABLE, `cannot reach ${this.name}: ${e.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        if (!('path' in this.target)) socket.setKeepAlive(true, 30_000);
        const conn = new H2ClientConnection(socket);
        conn.onClose = () => {
          if (this.conn === conn) this.conn = undefined;
          for (const w of this.waiting.splice(0)) w();
        };
        if (this.closed) conn.close();
        else this.conn = conn;
        resolve(conn);
      });
    });
  }
}

/** One call's response, read as it arrives. */
class UnaryCall implements ResponseListener {
  private readonly reader: MessageReader;
  private readonly max: number;
  private readonly resolve: (b: Buffer) => void;
  private readonly reject: (e: GrpcCallError) => void;
  private readonly done: () => void;
  private timer: NodeJS.Timeout | undefined;
  private encoding = 'identity';
  private failure: GrpcCallError | undefined;
  private grpcStatus: number | undefined;
  private grpcMessage = '';
  private settled = false;

  constructor(
    max: number,
    resolve: (b: Buffer) => void,
    reject: (e: GrpcCallError) => void,
    done: () => void,
  ) {
    this.reader = new MessageReader(max);
    this.max = max;
    this.resolve = resolve;
    this.reject = reject;
    this.done = done;
  }

  /** Cancels the call in `ms`, naming the deadline it was given (`given` ms). */
  deadline(ms: number, given: number, cancel: () => void): void {
    this.timer = setTimeout(() => {
      cancel();
      this.settle(
        new GrpcCallError(status.DEADLINE_EXCEEDED, `no answer within ${String(given)} ms`),
      );
    }, ms);
  }

  headers(fields: H2Headers, endStream: boolean): void {
    const s = first(fields['grpc-status']);
    if (s !== undefined) {
      this.grpcStatus = Number(s);
      this.grpcMessage = decodeStatusMessage(first(fields['grpc-message']) ?? '');
      return;
    }
    if (fields[':status'] === undefined) return;
    const http = Number(first(fields[':status']));
    if (http !== 200) {
      this.failure ??= new GrpcCallError(httpStatusCode(http), `HTTP status ${String(http)}`);
      return;
    }
    const type = first(fields['content-type']) ?? '';
    if (!type.startsWith('application/grpc')) {
      this.failure ??= new GrpcCallError(status.UNKNOWN, `content-type ${type || '(none)'}`);
    }
    this.encoding = first(fields['grpc-encoding']) ?? 'identity';
    if (endStream && this.grpcStatus === undefined) {
      this.failure ??= new GrpcCallError(status.UNKNOWN, 'a response without grpc-status');
    }
  }

  data(chunk: Buffer): void {
    if (!this.reader.push(chunk)) {
      const big = this.reader.tooLarge;
      this.failure ??= new GrpcCallError(
        status.RESOURCE_EXHAUSTED,
        `a response of ${String(big?.length)} bytes, over the ${String(big?.max)} allowed`,
      );
    }
  }

  closed(code: number | 'gone' | undefined, why: string): void {
    if (code === 'gone') {
      this.settle(new GrpcCallError(status.UNAVAILABLE, why));
    } else if (code !== undefined) {
      this.settle(new GrpcCallError(resetCode(code), `${why} (HTTP/2 error ${String(code)})`));
    } else if (this.failure) {
      this.settle(this.failure);
    } else if (this.grpcStatus === undefined) {
      this.settle(new GrpcCallError(status.UNKNOWN, 'the response ended without grpc-status'));
    } else if (this.grpcStatus !== (status.OK as number)) {
      this.settle(new GrpcCallError(this.grpcStatus, this.grpcMessage));
    } else {
      this.settle(this.message());
    }
  }

  private message(): Buffer | GrpcCallError {
    if (this.reader.partial > 0) {
      return new GrpcCallError(status.INTERNAL, 'the response ended inside a message');
    }
    const messages = this.reader.take();
    const m = messages[0];
    if (m === undefined || messages.length > 1) {
      return new GrpcCallError(
        status.UNIMPLEMENTED,
        `${String(messages.length)} response messages for a unary call`,
      );
    }
    if (!m.compressed) return m.bytes;
    try {
      return (
        decompress(m.bytes, this.encoding, this.max) ??
        new GrpcCallError(status.INTERNAL, `a compressed response in ${this.encoding}`)
      );
    } catch (e) {
      if (tooLargeOutput(e)) {
        return new GrpcCallError(
          status.RESOURCE_EXHAUSTED,
          `a response decompressing to over the ${String(this.max)} bytes allowed`,
        );
      }
      return new GrpcCallError(status.INTERNAL, `the response does not decompress: ${String(e)}`);
    }
  }

  private settle(outcome: Buffer | GrpcCallError): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (outcome instanceof GrpcCallError) this.reject(outcome);
    else this.resolve(outcome);
    this.done();
  }
}

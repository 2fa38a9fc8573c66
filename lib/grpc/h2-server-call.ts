/**
 * One gRPC call on h2-server.ts from its first DATA to its status: the request message(s)
 * reassembled (h2-frames.ts), decompressed and decoded, the handler run, the answer or the error
 * sent as gRPC's response or Trailers-Only status, the deadline kept. One object per call, the
 * stream's listener itself: the hot path allocates no closures, and a handler that answers at
 * once (a warm cache) is answered without a promise.
 */
import { status } from '@grpc/grpc-js';
import { errorMessage } from '../errors.ts';
import { ErrorCode } from '../h2/frames.ts';
import { encodeHeaders } from '../h2/hpack.ts';
import type { H2Stream, StreamListener } from '../h2/stream.ts';
import { H2Call, statusOf, type H2Handler, type StreamReceiver } from './h2-call.ts';
import {
  decompress,
  encodeStatusMessage,
  frameMessage,
  FramedResponse,
  MessageReader,
  tooLargeOutput,
  type FramedMessage,
} from './h2-frames.ts';

export interface Method {
  readonly path: string;
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly serialize: (response: unknown) => Buffer;
  readonly handler: H2Handler;
}

export const acceptEncoding = 'identity,deflate,gzip';
/** The header blocks of an OK response: before its message, and its trailers. */
export const okHeaders = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
export const okTrailers = encodeHeaders([['grpc-status', '0']]);

/** What the server counts: calls started and not yet finished. */
export interface CallCounter {
  inFlight: number;
}

export class ServerCall implements StreamListener {
  private readonly stream: H2Stream;
  private readonly call: H2Call;
  private readonly method: Method;
  private readonly encoding: string;
  private readonly maxReceive: number;
  private readonly counter: CallCounter;
  private readonly reader: MessageReader;
  private readonly timer: NodeJS.Timeout | undefined;
  private receiver: StreamReceiver | undefined;

  constructor(
    stream: H2Stream,
    method: Method,
    encoding: string,
    timeout: number | undefined,
    maxReceive: number,
    counter: CallCounter,
  ) {
    this.stream = stream;
    this.method = method;
    this.encoding = encoding;
    this.maxReceive = maxReceive;
    this.counter = counter;
    this.call = new H2Call(
      method.path,
      stream.headers,
      timeout === undefined ? Infinity : Date.now() + timeout,
    );
    this.reader = new MessageReader(maxReceive);
    counter.inFlight++;
    this.timer = timeout === undefined ? undefined : setTimeout(onDeadline, timeout, this);
    stream.listener = this;
    const { handler } = method;
    if ('clientStream' in handler) {
      try {
        this.receiver = handler.clientStream(this.call);
      } catch (e) {
        this.fail(e);
      }
    }
  }

  data(chunk: Buffer): void {
    if (this.call.finished || !this.read(chunk) || this.receiver === undefined) return;
    const messages = this.reader.take();
    // An index, not for-of: no iterator a read where V8 has not fully optimized (lib/jit.ts).
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (m === undefined) return;
      const req = this.decode(m);
      if (req === noRequest) return;
      try {
        this.receiver.message(req);
      } catch (e) {
        this.fail(e);
        return;
      }
    }
  }

  end(): void {
    if (this.call.finished) return;
    const receiver = this.receiver;
    if (receiver !== undefined) {
      if (this.reader.partial > 0) {
        this.finish(status.INTERNAL, 'the stream ended inside a message');
        return;
      }
      let out: unknown;
      try {
        out = receiver.end();
      } catch (e) {
        this.fail(e);
        return;
      }
      this.answer(out);
      return;
    }
    const messages = this.reader.take();
    const only = messages[0];
    if (messages.length !== 1 || only === undefined || this.reader.partial > 0) {
      this.finish(
        status.INTERNAL,
        `a unary call needs one request message, got ${String(messages.length)}`,
      );
      return;
    }
    const req = this.decode(only);
    const { handler } = this.method;
    if (req === noRequest || !('unary' in handler)) return;
    let out: unknown;
    try {
      out = handler.unary(req, this.call);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.answer(out);
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.counter.inFlight--;
    if (!this.call.finished) this.call.cancel();
  }

  /** The client has stopped waiting (grpc-timeout passed). */
  deadline(): void {
    // Cancel locally and end the stream with status DEADLINE_EXCEEDED, so a client whose own
    // timer fires a moment later still reads 4 (an RST_STREAM CANCEL would read as CANCELLED);
    // after headers went out, RST CANCEL.
    this.call.cancel();
    const stream = this.stream;
    if (stream.closed) return;
    if (stream.headersSent) stream.reset(ErrorCode.CANCEL);
    else trailersOnly(stream, status.DEADLINE_EXCEEDED, 'deadline exceeded');
  }

  private read(chunk: Buffer): boolean {
    if (this.reader.push(chunk)) return true;
    const big = this.reader.tooLarge;
    this.finish(
      status.RESOURCE_EXHAUSTED,
      `received message larger than max (${String(big?.length)} vs. ${String(big?.max)})`,
    );
    return false;
  }

  /** The decoded request, or noRequest after answering with the status that says why not. */
  private decode(m: FramedMessage): unknown {
    const bytes = this.bytesOf(m);
    if (bytes === undefined) return noRequest;
    try {
      return this.method.deserialize(bytes);
    } catch (e) {
      this.finish(status.INTERNAL, `cannot decode the request: ${errorMessage(e)}`);
      return noRequest;
    }
  }

  private bytesOf(m: FramedMessage): Buffer | undefined {
    if (!m.compressed) return m.bytes;
    const encoding = this.encoding;
    if (encoding === 'identity') {
      this.finish(status.INTERNAL, 'compressed flag set on a message without grpc-encoding');
      return undefined;
    }
    try {
      const out = decompress(m.bytes, encoding, this.maxReceive);
      // onStream answers any other encoding before a call starts.
      if (out === undefined) throw new Error(`${encoding} is not supported`);
      return out;
    } catch (e) {
      const tooLarge = tooLargeOutput(e);
      this.finish(
        tooLarge ? status.RESOURCE_EXHAUSTED : status.INTERNAL,
        tooLarge
          ? `decompressed message larger than max (${String(this.maxReceive)})`
          : `cannot decompress a ${encoding} message: ${errorMessage(e)}`,
      );
      return undefined;
    }
  }

  /** Sends what a handler returned: an answer now, or when its promise settles. */
  private answer(out: unknown): void {
    if (!(out instanceof Promise)) {
      this.respond(out);
      return;
    }
    out.then(
      (res: unknown) => {
        this.respond(res);
      },
      (e: unknown) => {
        this.fail(e);
      },
    );
  }

  private respond(response: unknown): void {
    const call = this.call;
    if (call.finished) return;
    let body: Buffer;
    try {
      body =
        response instanceof FramedResponse
          ? response.framed
          : frameMessage(this.method.serialize(response));
    } catch (e) {
      this.finish(status.INTERNAL, `cannot encode the response: ${errorMessage(e)}`);
      return;
    }
    call.finished = true;
    if (this.stream.closed) return;
    this.stream.respond(okHeaders);
    this.stream.end(body, okTrailers);
  }

  private fail(e: unknown): void {
    const s = statusOf(e);
    this.finish(s.code, s.details);
  }

  private finish(code: number, details: string): void {
    if (this.call.finished) return;
    this.call.finished = true;
    trailersOnly(this.stream, code, details);
  }
}

/** Marks a request that could not be read (its status is sent already). */
const noRequest = Symbol('no request');

function onDeadline(c: ServerCall): void {
  c.deadline();
}

/**
 * An error as a Trailers-Only response (one HEADERS frame, END_STREAM); a client still sending
 * gets RST_STREAM NO_ERROR after it, so its stream is freed (PROTOCOL-HTTP2.md, early closure).
 */
export function trailersOnly(stream: H2Stream, code: number, details: string): void {
  if (stream.closed || stream.headersSent) return;
  stream.respond(
    encodeHeaders([
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-accept-encoding', acceptEncoding],
      ['grpc-status', String(code)],
      ['grpc-message', encodeStatusMessage(details)],
    ]),
    true,
  );
  if (!stream.remoteEnded) stream.reset(ErrorCode.NO_ERROR);
}

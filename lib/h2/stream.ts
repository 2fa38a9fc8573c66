/**
 * One HTTP/2 stream as a server sees it (RFC 9113 5.1): the request's headers, its body as it
 * arrives, and the response as a header block, body and trailers that the connection
 * (connection.ts) sends as its flow-control windows allow.
 */
import type { ReceiveWindow } from './receive-window.ts';

/** Request headers by name; a repeated name is an array. */
export type H2Headers = Record<string, string | string[] | undefined>;

/** What a stream tells whoever serves it. */
export interface StreamListener {
  /** A chunk of the request body (called in order). */
  data(chunk: Buffer): void;
  /** The peer has sent all of the request. */
  end(): void;
  /** The stream is gone: answered and read, reset by either side, or the connection closed. */
  close(): void;
}

/** What the connection does for its streams. */
export interface StreamSink {
  /** A HEADERS frame (with CONTINUATIONs when large). */
  headers(stream: H2Stream, block: Buffer, endStream: boolean): void;
  /** Sends what the stream has queued, as far as the windows allow. */
  flush(stream: H2Stream): void;
  /** RST_STREAM with `code`; the stream is closed. */
  reset(stream: H2Stream, code: number): void;
}

export class H2Stream {
  readonly id: number;
  readonly headers: H2Headers;
  /** Told of the request body, its end and the stream's close; set by whoever serves it. */
  listener: StreamListener | undefined;
  /** The peer sent END_STREAM. */
  remoteEnded = false;
  headersSent = false;
  /** Everything of the response was queued (END_STREAM queued or sent). */
  localEnded = false;
  closed = false;
  /** Flow control: what we may still send, what the peer may still send. */
  sendWindow: number;
  readonly received: ReceiveWindow;
  /** Body not yet sent, and the trailers block to send after it. */
  readonly queue: Buffer[] = [];
  trailers: Buffer | undefined;
  private readonly sink: StreamSink;

  constructor(
    sink: StreamSink,
    id: number,
    headers: H2Headers,
    sendWindow: number,
    received: ReceiveWindow,
  ) {
    this.sink = sink;
    this.id = id;
    this.headers = headers;
    this.sendWindow = sendWindow;
    this.received = received;
  }

  /** The response headers (an encoded block); `endStream` for a response without a body. */
  respond(block: Buffer, endStream = false): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    if (endStream) this.localEnded = true;
    this.sink.headers(this, block, endStream);
  }

  /**
   * Queues `body` (may be empty) and ends the response: with `trailers` (an encoded block) after
   * the body, or with the last DATA frame.
   */
  end(body: Buffer, trailers?: Buffer): void {
    if (this.closed || this.localEnded || !this.headersSent) return;
    this.localEnded = true;
    this.queue.push(body);
    this.trailers = trailers;
    this.sink.flush(this);
  }

  /** Resets the stream (RST_STREAM); nothing more is sent or delivered. */
  reset(code: number): void {
    if (this.closed) return;
    this.sink.reset(this, code);
  }
}

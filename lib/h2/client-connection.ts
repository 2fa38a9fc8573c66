/**
 * The client side of one HTTP/2 connection over cleartext with prior knowledge (RFC 9113 3.3), as
 * a gRPC client speaks to a plaintext server: the preface and SETTINGS, requests as HEADERS and
 * DATA within the peer's windows (sender.ts), responses read as header blocks and DATA with our
 * windows credited back, PING answered, SETTINGS applied, RST_STREAM and GOAWAY honoured. It opens
 * streams only; what a stream carries is the caller's (lib/grpc/h2-client.ts).
 *
 * A protocol violation by the server ends the connection with GOAWAY naming it; every open stream
 * is then told the connection is gone.
 */
import type { Socket } from 'node:net';
import {
  ConnectionError,
  ErrorCode,
  Flag,
  frame,
  FrameReader,
  FrameType,
  MAX_WINDOW,
  PREFACE,
  Setting,
  frameSizeError,
  goAwayFrame,
  protocolError,
  rstFrame,
  unpadded,
  windowUpdate,
  type Frame,
} from './frames.ts';
import { applySettings, creditWindow, endOnFailure, pingAck } from './control.ts';
import { HeaderBlocks } from './header-blocks.ts';
import { HpackDecoder } from './hpack.ts';
import { Output } from './output.ts';
import { ReceiveWindow } from './receive-window.ts';
import { settingsFrame } from './settings.ts';
import { addHeader, emptyHeaders } from './request-headers.ts';
import { Sender } from './sender.ts';
import { H2Stream, type H2Headers, type StreamSink } from './stream.ts';

/** What the connection tells the caller of one stream (each at most once, `closed` last). */
export interface ResponseListener {
  /** A header block: the response's headers, then (with `endStream`) its trailers. */
  headers(fields: H2Headers, endStream: boolean): void;
  /** A chunk of the response body. */
  data(chunk: Buffer): void;
  /**
   * The stream is over: answered in full (`code` undefined), reset by either side (its RST_STREAM
   * code), or `gone` with the connection before it was answered.
   */
  closed(code: number | 'gone' | undefined, why: string): void;
}

const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 1 << 24;
const DEFAULT_WINDOW = 65_535;

interface Open {
  readonly stream: H2Stream;
  readonly listener: ResponseListener;
}

export class H2ClientConnection implements StreamSink {
  private readonly socket: Socket;
  private readonly reader = new FrameReader(false);
  private readonly decoder = new HpackDecoder();
  private readonly output: Output;
  private readonly sender: Sender;
  private readonly open = new Map<number, Open>();
  private readonly received = new ReceiveWindow(CONNECTION_WINDOW);
  private nextId = 1;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxStreams = Infinity;
  private readonly blocks = new HeaderBlocks((id, flags, block) => {
    this.onHeaderBlock(id, flags, block);
  });
  /** GOAWAY received or the connection failed: no new streams. */
  private draining = false;
  private ended = false;
  /** Called once, when the socket is closed. */
  onClose: ((why: string) => void) | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    this.output = new Output(socket);
    this.sender = new Sender(this.output, () => undefined);
    socket.setNoDelay(true);
    this.output.write(PREFACE);
    this.output.write(
      settingsFrame([
        [Setting.ENABLE_PUSH, 0],
        [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
      ]),
    );
    this.output.write(windowUpdate(0, CONNECTION_WINDOW - DEFAULT_WINDOW));
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('error', () => {
      socket.destroy();
    });
    socket.on('close', () => {
      this.draining = true;
      this.closeAll('the connection closed');
      this.onClose?.('the connection closed');
    });
  }

  /** Whether a new stream can be opened now (not draining, under the peer's stream limit). */
  get usable(): boolean {
    return !this.draining && this.open.size < this.peerMaxStreams && this.nextId < MAX_WINDOW;
  }

  /** Open streams. */
  get streams(): number {
    return this.open.size;
  }

  /** Sends a request (an encoded header block and its whole body); undefined when not `usable`. */
  request(block: Buffer, body: Buffer, listener: ResponseListener): H2Stream | undefined {
    if (!this.usable) return undefined;
    const id = this.nextId;
    this.nextId += 2;
    const stream = new H2Stream(
      this,
      id,
      {},
      this.peerInitialWindow,
      new ReceiveWindow(STREAM_WINDOW),
    );
    this.open.set(id, { stream, listener });
    stream.respond(block);
    stream.end(body);
    return stream;
  }

  /** Cancels a stream (RST_STREAM CANCEL); its listener hears nothing more. */
  cancel(stream: H2Stream): void {
    if (!this.open.delete(stream.id)) return;
    stream.closed = true;
    this.sender.forget(stream);
    this.output.write(rstFrame(stream.id, ErrorCode.CANCEL));
    if (this.draining && this.open.size === 0 && !this.ended) this.close();
  }

  /** Ends the connection: GOAWAY, then the socket; open streams are told it closed. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.draining = true;
    this.reader.stop();
    this.output.write(goAwayFrame(0, ErrorCode.NO_ERROR, ''));
    this.output.flush();
    this.socket.end();
    this.closeAll('the client closed the connection');
  }

  // StreamSink: how an H2Stream's request leaves.
  headers(stream: H2Stream, block: Buffer, endStream: boolean): void {
    this.sender.headers(stream, block, endStream);
  }

  flush(stream: H2Stream): void {
    this.sender.flush(stream);
  }

  reset(stream: H2Stream, code: number): void {
    this.finish(stream.id, code, 'reset by the client');
    this.output.write(rstFrame(stream.id, code));
  }

  /** A read's frames; what they make ready is written as it ends (Output.hold). */
  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.output.hold();
    try {
      this.reader.push(chunk, this.frameHandler);
    } catch (e) {
      const why = endOnFailure(e, 0, this.reader, this.output, this.socket);
      this.ended = true;
      this.draining = true;
      this.closeAll(`the server broke the protocol: ${why}`);
    } finally {
      this.output.release();
    }
  }

  /** onFrame, bound once (not a closure per socket read). */
  private readonly frameHandler = (f: Frame): void => {
    this.onFrame(f);
  };

  private onFrame(f: Frame): void {
    this.blocks.check(f);
    switch (f.type) {
      case FrameType.DATA:
        this.onDataFrame(f);
        return;
      case FrameType.HEADERS:
        this.blocks.headers(f);
        return;
      case FrameType.CONTINUATION:
        this.blocks.continuation(f);
        return;
      case FrameType.RST_STREAM:
        if (f.streamId === 0) throw protocolError('RST_STREAM on stream 0');
        if (f.payload.length !== 4) throw frameSizeError('RST_STREAM');
        this.finish(f.streamId, f.payload.readUInt32BE(0), 'reset by the server');
        return;
      case FrameType.SETTINGS:
        this.onSettings(f);
        return;
      case FrameType.PUSH_PROMISE:
        throw protocolError('PUSH_PROMISE after ENABLE_PUSH 0');
      case FrameType.PING: {
        const ack = pingAck(f);
        if (ack) this.output.write(ack);
        return;
      }
      case FrameType.GOAWAY:
        this.onGoAway(f);
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(f);
        return;
      default:
      // PRIORITY and unknown frame types are ignored (RFC 9113 4.1, 5.3.2).
    }
  }

  private onSettings(f: Frame): void {
    const streams = [...this.open.values()].map((o) => o.stream);
    const peer = applySettings(f, this.peerInitialWindow, streams, this.sender);
    if (peer === undefined) return;
    this.peerInitialWindow = peer.initialWindow;
    if (peer.maxStreams !== undefined) this.peerMaxStreams = peer.maxStreams;
    this.output.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    this.sender.flushBlocked();
  }

  private onGoAway(f: Frame): void {
    if (f.streamId !== 0) throw protocolError('GOAWAY on a stream');
    if (f.payload.length < 8) throw frameSizeError('GOAWAY');
    const last = f.payload.readUInt32BE(0) & 0x7fffffff;
    const code = f.payload.readUInt32BE(4);
    this.draining = true;
    // Streams the server never took may be retried elsewhere (REFUSED_STREAM).
    for (const id of [...this.open.keys()]) {
      if (id > last) this.finish(id, ErrorCode.REFUSED_STREAM, 'not taken before GOAWAY');
    }
    if (code !== ErrorCode.NO_ERROR) {
      const why = f.payload.subarray(8).toString('utf8');
      this.closeAll(`GOAWAY ${String(code)}${why === '' ? '' : `: ${why}`}`);
    }
    if (this.open.size === 0) this.close();
  }

  private onWindowUpdate(f: Frame): void {
    const stream = f.streamId === 0 ? undefined : this.open.get(f.streamId)?.stream;
    const code = creditWindow(f, this.sender, stream);
    if (code !== undefined && stream !== undefined) this.reset(stream, code);
  }

  private onDataFrame(f: Frame): void {
    if (f.streamId === 0) throw protocolError('DATA on stream 0');
    if (!this.received.take(f.payload.length)) {
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the window');
    }
    const credit = this.received.credit();
    if (credit > 0) this.output.write(windowUpdate(0, credit));
    const o = this.open.get(f.streamId);
    if (o === undefined) return; // A stream we cancelled: its data is dropped.
    if (!o.stream.received.take(f.payload.length)) {
      this.reset(o.stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    const streamCredit = o.stream.received.credit();
    if (streamCredit > 0 && (f.flags & Flag.END_STREAM) === 0) {
      this.output.write(windowUpdate(f.streamId, streamCredit));
    }
    const body = unpadded(f);
    if (body.length > 0) o.listener.data(body);
    if (f.flags & Flag.END_STREAM) this.finish(f.streamId, undefined, 'answered');
  }

  private onHeaderBlock(id: number, flags: number, block: Buffer): void {
    // Always decoded, even for a stream we cancelled: the table must stay in step.
    const fields = emptyHeaders();
    this.decoder.decode(block, (name, value) => {
      addHeader(fields, name, value);
    });
    const o = this.open.get(id);
    if (o === undefined) return;
    const end = (flags & Flag.END_STREAM) !== 0;
    o.listener.headers(fields, end);
    if (end) this.finish(id, undefined, 'answered');
  }

  private finish(id: number, code: number | 'gone' | undefined, why: string): void {
    const o = this.open.get(id);
    if (o === undefined) return;
    this.open.delete(id);
    o.stream.closed = true;
    this.sender.forget(o.stream);
    o.listener.closed(code, why);
    if (this.draining && this.open.size === 0 && !this.ended) this.close();
  }

  private closeAll(why: string): void {
    for (const id of [...this.open.keys()]) this.finish(id, 'gone', why);
  }
}

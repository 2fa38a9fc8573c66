/**
 * The server side of one HTTP/2 connection over cleartext (prior knowledge, RFC 9113 3.3):
 * SETTINGS, streams opened by HEADERS (+CONTINUATION) and fed by DATA, PING, WINDOW_UPDATE,
 * RST_STREAM, GOAWAY; windows of 1 MiB a stream and 16 MiB for the connection (receive-window.ts),
 * the peer's honoured (sender.ts), all output of one event-loop turn in one write (output.ts).
 * A protocol violation ends the connection with GOAWAY and the reason; one stream's fault resets
 * that stream only.
 */
import type { Socket } from 'node:net';
import {
  ConnectionError,
  ErrorCode,
  Flag,
  frame,
  FrameReader,
  FrameType,
  Setting,
  unpadded,
  frameSizeError,
  goAwayFrame,
  protocolError,
  rstFrame,
  windowUpdate,
  type Frame,
} from './frames.ts';
import { applySettings, creditWindow, endOnFailure, pingAck } from './control.ts';
import { HeaderBlocks } from './header-blocks.ts';
import { HpackDecoder } from './hpack.ts';
import { Output } from './output.ts';
import { ReceiveWindow } from './receive-window.ts';
import { settingsFrame } from './settings.ts';
import { Sender } from './sender.ts';
import { readHeaderBlock, status431 } from './request-headers.ts';
import { H2Stream, type StreamSink } from './stream.ts';
import { StreamTable } from './stream-table.ts';

export interface ConnectionOptions {
  /** Called for each new stream, its headers read. */
  readonly onStream: (stream: H2Stream) => void;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListSize: number;
}

const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 1 << 24;
const DEFAULT_WINDOW = 65_535;
/** Above this much unsent output, the connection stops reading until the socket drains. */
const HIGH_WATER = 4 << 20;

export class H2Connection implements StreamSink {
  private readonly socket: Socket;
  private readonly options: ConnectionOptions;
  private readonly reader = new FrameReader(true);
  private readonly decoder = new HpackDecoder();
  private readonly streams = new StreamTable<H2Stream>();
  private readonly sender: Sender;
  private readonly output: Output;
  private settingsSeen = false;
  private lastStreamId = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private readonly received = new ReceiveWindow(CONNECTION_WINDOW);
  /** Header blocks as they arrive, gathered over CONTINUATION frames. */
  private readonly blocks = new HeaderBlocks((id, flags, block) => {
    this.onHeaderBlock(id, flags, block);
  });
  /** GOAWAY sent: no new streams; the socket ends once the open ones are done. */
  private goingAway = false;
  private ended = false;
  /** Called once the socket is closed. */
  onClose: (() => void) | undefined;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.output = new Output(socket, HIGH_WATER);
    this.sender = new Sender(this.output, this.closeIfDone.bind(this));
    socket.setNoDelay(true);
    this.write(
      settingsFrame([
        [Setting.ENABLE_PUSH, 0],
        [Setting.MAX_CONCURRENT_STREAMS, options.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
        [Setting.MAX_HEADER_LIST_SIZE, options.maxHeaderListSize],
      ]),
    );
    this.write(windowUpdate(0, CONNECTION_WINDOW - DEFAULT_WINDOW));
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('drain', () => {
      if (!this.ended) socket.resume();
    });
    socket.on('error', () => {
      socket.destroy();
    });
    socket.on('close', () => {
      this.closeAll();
      this.onClose?.();
    });
  }

  /** Open streams (tests, drain). */
  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Graceful close: GOAWAY naming the last stream taken; those finish, later ones are refused,
   * and the socket ends when none is left open.
   */
  goAway(): void {
    if (this.goingAway || this.ended) return;
    this.goingAway = true;
    this.write(goAwayFrame(this.lastStreamId, ErrorCode.NO_ERROR, ''));
    this.endIfIdle();
  }

  /** Cuts the connection now. */
  destroy(): void {
    this.socket.destroy();
    // The socket's 'close' comes a turn later (after the server's own close callback): the
    // streams end now, so their calls are cancelled when close() resolves.
    this.closeAll();
  }

  /** A read's frames; what they make ready is written as it ends (Output.hold). */
  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.output.hold();
    try {
      this.reader.push(chunk, this.frameHandler);
    } catch (e) {
      endOnFailure(e, this.lastStreamId, this.reader, this.output, this.socket);
      this.closeAll();
    } finally {
      this.output.release();
    }
  }

  /** onFrame, bound once (not a closure per socket read). */
  private readonly frameHandler = (f: Frame): void => {
    this.onFrame(f);
  };

  private onFrame(f: Frame): void {
    if (!this.settingsSeen && f.type !== FrameType.SETTINGS) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'the first frame must be SETTINGS');
    }
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
      case FrameType.PRIORITY:
        if (f.streamId === 0) throw protocolError('PRIORITY on stream 0');
        if (f.payload.length !== 5) throw frameSizeError('PRIORITY');
        return;
      case FrameType.RST_STREAM:
        this.onReset(f);
        return;
      case FrameType.SETTINGS:
        this.onSettings(f);
        return;
      case FrameType.PUSH_PROMISE:
        throw protocolError('a client sent PUSH_PROMISE');
      case FrameType.PING: {
        const ack = pingAck(f);
        if (ack) this.write(ack);
        return;
      }
      case FrameType.GOAWAY:
        if (f.streamId !== 0) throw protocolError('GOAWAY on a stream');
        this.goAway();
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(f);
        return;
      default:
      // Unknown frame types are ignored (RFC 9113 4.1).
    }
  }

  private onSettings(f: Frame): void {
    const peer = applySettings(f, this.peerInitialWindow, this.streams.values(), this.sender);
    if (peer === undefined) return;
    this.peerInitialWindow = peer.initialWindow;
    this.settingsSeen = true;
    this.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    this.sender.flushBlocked();
  }

  private onHeaderBlock(id: number, flags: number, block: Buffer): void {
    // Always decoded, even for a stream we will refuse: the table must stay in step.
    const { headers, malformed, listSize } = readHeaderBlock(this.decoder, block);
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Trailers: they must end the stream.
      if ((flags & Flag.END_STREAM) === 0) {
        this.reset(existing, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.remoteEnd(existing);
      return;
    }
    if (id <= this.lastStreamId) return; // A stream already closed: ignored.
    if (id % 2 === 0) throw protocolError(`a client opened an even stream ${String(id)}`);
    this.lastStreamId = id;
    if (this.goingAway || this.streams.size >= this.options.maxConcurrentStreams) {
      this.write(rstFrame(id, ErrorCode.REFUSED_STREAM));
      return;
    }
    const stream = new H2Stream(
      this,
      id,
      headers,
      this.peerInitialWindow,
      new ReceiveWindow(STREAM_WINDOW),
    );
    this.streams.add(stream);
    if (malformed !== '') {
      this.reset(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (listSize > this.options.maxHeaderListSize) {
      stream.respond(status431, true);
      if ((flags & Flag.END_STREAM) === 0) this.reset(stream, ErrorCode.NO_ERROR);
      return;
    }
    if (flags & Flag.END_STREAM) stream.remoteEnded = true;
    this.options.onStream(stream);
    if (stream.remoteEnded && !stream.closed) {
      stream.listener?.end();
      this.closeIfDone(stream);
    }
  }

  private onDataFrame(f: Frame): void {
    if (f.streamId === 0) throw protocolError('DATA on stream 0');
    const length = f.payload.length;
    if (!this.received.take(length)) {
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    }
    const credit = this.received.credit();
    if (credit > 0) this.write(windowUpdate(0, credit));
    const stream = this.streams.get(f.streamId);
    if (stream === undefined) {
      if (f.streamId > this.lastStreamId) throw protocolError('DATA on an idle stream');
      return; // Closed: counted for the connection above, otherwise dropped.
    }
    if (stream.remoteEnded) {
      this.reset(stream, ErrorCode.STREAM_CLOSED);
      return;
    }
    if (!stream.received.take(length)) {
      this.reset(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    const body = unpadded(f);
    const end = (f.flags & Flag.END_STREAM) !== 0;
    const streamCredit = end ? 0 : stream.received.credit();
    if (streamCredit > 0) this.write(windowUpdate(stream.id, streamCredit));
    if (body.length > 0) stream.listener?.data(body);
    if (end && !stream.closed) this.remoteEnd(stream);
  }

  private remoteEnd(stream: H2Stream): void {
    stream.remoteEnded = true;
    stream.listener?.end();
    this.closeIfDone(stream);
  }

  private onReset(f: Frame): void {
    if (f.streamId === 0) throw protocolError('RST_STREAM on stream 0');
    if (f.payload.length !== 4) throw frameSizeError('RST_STREAM');
    if (f.streamId > this.lastStreamId) throw protocolError('RST_STREAM on an idle stream');
    const stream = this.streams.get(f.streamId);
    if (stream !== undefined) this.close(stream);
  }

  private onWindowUpdate(f: Frame): void {
    const stream = f.streamId === 0 ? undefined : this.streams.get(f.streamId);
    const code = creditWindow(f, this.sender, stream);
    if (code !== undefined && stream !== undefined) this.reset(stream, code);
  }

  // StreamSink

  headers(stream: H2Stream, block: Buffer, endStream: boolean): void {
    this.sender.headers(stream, block, endStream);
  }

  flush(stream: H2Stream): void {
    this.sender.flush(stream);
  }

  reset(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    this.write(rstFrame(stream.id, code));
    this.close(stream);
  }

  private closeIfDone(stream: H2Stream): void {
    if (stream.remoteEnded && stream.localEnded && stream.queue.length === 0) this.close(stream);
  }

  private close(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    this.sender.forget(stream);
    stream.listener?.close();
    this.endIfIdle();
  }

  private closeAll(): void {
    this.ended = true;
    for (const s of this.streams.values()) this.close(s);
  }

  private endIfIdle(): void {
    if (this.goingAway && this.streams.size === 0 && !this.ended) {
      this.ended = true;
      this.output.flush();
      this.socket.end();
    }
  }

  private write(buf: Buffer): void {
    this.output.write(buf);
  }
}

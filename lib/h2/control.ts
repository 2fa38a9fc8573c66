/**
 * The connection-level frames both ends of a connection handle alike (RFC 9113 6.5, 6.7, 6.9):
 * SETTINGS applied to the sending side, PING answered, WINDOW_UPDATE credited, and the GOAWAY that
 * ends a connection whose reading failed. Shared by the server (connection.ts) and the client
 * (client-connection.ts).
 */
import type { Socket } from 'node:net';
import {
  ConnectionError,
  ErrorCode,
  Flag,
  frame,
  frameSizeError,
  FrameType,
  goAwayFrame,
  MAX_WINDOW,
  protocolError,
  type Frame,
  type FrameReader,
} from './frames.ts';
import { HpackError } from './hpack.ts';
import type { Output } from './output.ts';
import type { Sender } from './sender.ts';
import { readSettings, type PeerSettings } from './settings.ts';
import type { H2Stream } from './stream.ts';

/**
 * Ends a connection on an error thrown while reading the peer's frames: nothing more is read,
 * GOAWAY (`lastStreamId`, the error's code and text) is written at once, and the socket ends.
 * Returns the text.
 */
export function endOnFailure(
  e: unknown,
  lastStreamId: number,
  reader: FrameReader,
  output: Output,
  socket: Socket,
): string {
  const code =
    e instanceof ConnectionError
      ? e.code
      : e instanceof HpackError
        ? ErrorCode.COMPRESSION_ERROR
        : ErrorCode.INTERNAL_ERROR;
  const message = e instanceof Error ? e.message : String(e);
  reader.stop();
  output.write(goAwayFrame(lastStreamId, code, message));
  output.flush();
  socket.end();
  return message;
}

/** A PING checked; the ACK to send back, or undefined when it is itself an ACK. */
export function pingAck(f: Frame): Buffer | undefined {
  if (f.streamId !== 0) throw protocolError('PING on a stream');
  if (f.payload.length !== 8) throw frameSizeError('PING');
  return (f.flags & Flag.ACK) === 0 ? frame(FrameType.PING, Flag.ACK, 0, f.payload) : undefined;
}

/**
 * The peer's SETTINGS checked and applied to the sending side: every open stream's window moves
 * by the change of INITIAL_WINDOW_SIZE, frames grow to MAX_FRAME_SIZE. Undefined for an ACK.
 */
export function applySettings(
  f: Frame,
  initialWindow: number,
  streams: Iterable<H2Stream>,
  sender: Sender,
): (PeerSettings & { readonly initialWindow: number }) | undefined {
  if (f.streamId !== 0) throw protocolError('SETTINGS on a stream');
  if (f.flags & Flag.ACK) {
    if (f.payload.length !== 0) throw frameSizeError('SETTINGS ACK');
    return undefined;
  }
  const peer = readSettings(f.payload);
  let window = initialWindow;
  if (peer.initialWindow !== undefined) {
    const delta = peer.initialWindow - initialWindow;
    window = peer.initialWindow;
    for (const s of streams) s.sendWindow += delta;
  }
  if (peer.maxFrame !== undefined) sender.maxFrame = peer.maxFrame;
  return { ...peer, initialWindow: window };
}

/**
 * A WINDOW_UPDATE: the connection's grows the sender's window; a stream's grows `stream`'s
 * (undefined: a stream already closed, ignored). Returns the code to reset the stream with when
 * its increment is 0 or overflows its window, else undefined.
 */
export function creditWindow(
  f: Frame,
  sender: Sender,
  stream: H2Stream | undefined,
): number | undefined {
  if (f.payload.length !== 4) throw frameSizeError('WINDOW_UPDATE');
  const increment = f.payload.readUInt32BE(0) & 0x7fffffff;
  if (f.streamId === 0) {
    if (increment === 0) throw protocolError('a WINDOW_UPDATE of 0');
    sender.grow(increment);
    return undefined;
  }
  if (stream === undefined) return undefined;
  if (increment === 0) return ErrorCode.PROTOCOL_ERROR;
  if (stream.sendWindow + increment > MAX_WINDOW) return ErrorCode.FLOW_CONTROL_ERROR;
  stream.sendWindow += increment;
  sender.flush(stream);
  return undefined;
}

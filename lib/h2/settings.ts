/**
 * SETTINGS (RFC 9113 6.5): ours as a frame, and the peer's read and checked: ENABLE_PUSH 0 or 1,
 * INITIAL_WINDOW_SIZE up to 2^31-1 (else FLOW_CONTROL_ERROR), MAX_FRAME_SIZE between 16 KiB and
 * 16 MiB; unknown settings are ignored.
 */
import {
  ConnectionError,
  ErrorCode,
  frame,
  frameSizeError,
  FrameType,
  MAX_FRAME_SIZE,
  MAX_WINDOW,
  MIN_FRAME_SIZE,
  protocolError,
  Setting,
} from './frames.ts';

export function settingsFrame(settings: readonly (readonly [number, number])[]): Buffer {
  const payload = Buffer.allocUnsafe(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

/** What the peer's SETTINGS change for the sending side (the last value of each wins). */
export interface PeerSettings {
  readonly initialWindow?: number | undefined;
  readonly maxFrame?: number | undefined;
  /** SETTINGS_MAX_CONCURRENT_STREAMS: how many streams a client may open (a server's limit). */
  readonly maxStreams?: number | undefined;
}

export function readSettings(payload: Buffer): PeerSettings {
  if (payload.length % 6 !== 0) throw frameSizeError('SETTINGS');
  let initialWindow: number | undefined;
  let maxFrame: number | undefined;
  let maxStreams: number | undefined;
  for (let at = 0; at < payload.length; at += 6) {
    const id = payload.readUInt16BE(at);
    const value = payload.readUInt32BE(at + 2);
    if (id === Setting.ENABLE_PUSH && value > 1) throw protocolError('ENABLE_PUSH over 1');
    if (id === Setting.INITIAL_WINDOW_SIZE) {
      if (value > MAX_WINDOW) {
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE over 2^31-1');
      }
      initialWindow = value;
    }
    if (id === Setting.MAX_FRAME_SIZE) {
      if (value < MIN_FRAME_SIZE || value > MAX_FRAME_SIZE) {
        throw protocolError(`MAX_FRAME_SIZE ${String(value)} out of range`);
      }
      maxFrame = value;
    }
    if (id === Setting.MAX_CONCURRENT_STREAMS) maxStreams = value;
  }
  return { initialWindow, maxFrame, maxStreams };
}

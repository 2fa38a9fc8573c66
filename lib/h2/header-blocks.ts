/**
 * Header blocks as they arrive (RFC 9113 6.2, 6.10): a HEADERS frame, then CONTINUATION frames
 * on the same stream until END_HEADERS, nothing else in between. A block is handed on whole; one
 * over 1 MiB ends the connection (ENHANCE_YOUR_CALM) rather than being buffered without end.
 */
import {
  ConnectionError,
  ErrorCode,
  Flag,
  FrameType,
  protocolError,
  unpadded,
  type Frame,
} from './frames.ts';

const MAX_HEADER_BLOCK = 1 << 20;

/** Called with a whole block: its stream, the HEADERS frame's flags, the block. */
export type OnHeaderBlock = (streamId: number, flags: number, block: Buffer) => void;

export class HeaderBlocks {
  private gathering: { streamId: number; flags: number; parts: Buffer[]; size: number } | undefined;
  private readonly done: OnHeaderBlock;

  constructor(done: OnHeaderBlock) {
    this.done = done;
  }

  /** Throws unless `f` may come now: only a CONTINUATION while a block is being gathered. */
  check(f: Frame): void {
    if (this.gathering !== undefined && f.type !== FrameType.CONTINUATION) {
      throw protocolError('a header block was interrupted');
    }
  }

  headers(f: Frame): void {
    if (f.streamId === 0) throw protocolError('HEADERS on stream 0');
    const fragment = unpadded(f, f.flags & Flag.PRIORITY ? 5 : 0);
    if (f.flags & Flag.END_HEADERS) {
      this.done(f.streamId, f.flags, fragment);
      return;
    }
    this.gathering = {
      streamId: f.streamId,
      flags: f.flags,
      parts: [Buffer.from(fragment)],
      size: fragment.length,
    };
  }

  continuation(f: Frame): void {
    const g = this.gathering;
    if (g?.streamId !== f.streamId) throw protocolError('CONTINUATION without its HEADERS');
    g.size += f.payload.length;
    if (g.size > MAX_HEADER_BLOCK) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'a header block over 1 MiB');
    }
    g.parts.push(Buffer.from(f.payload));
    if (f.flags & Flag.END_HEADERS) {
      this.gathering = undefined;
      this.done(g.streamId, g.flags, Buffer.concat(g.parts));
    }
  }
}

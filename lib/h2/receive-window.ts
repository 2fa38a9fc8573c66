/**
 * The receiving half of flow control (RFC 9113 6.9) for a connection or a stream: the peer may
 * send `size` bytes of DATA (padding included) beyond what we have credited back; data is
 * handed on at once, so credit goes back in one WINDOW_UPDATE whenever half the window is used.
 */
export class ReceiveWindow {
  private readonly size: number;
  private left: number;
  private unacked = 0;

  constructor(size: number) {
    this.size = size;
    this.left = size;
  }

  /** Counts `length` received bytes; false when the peer went past the window. */
  take(length: number): boolean {
    this.left -= length;
    this.unacked += length;
    return this.left >= 0;
  }

  /** The increment to send back now (0: not yet). */
  credit(): number {
    if (this.unacked < this.size / 2) return 0;
    const n = this.unacked;
    this.left += n;
    this.unacked = 0;
    return n;
  }
}

/**
 * Bounds the bytes of responses written but not yet flushed to their clients, across all streams.
 * A push to a hundred proxies would otherwise queue every response at once (2 MB each for 1,000
 * services), and the process keeps that peak as RSS long after. One send is always admitted when
 * nothing is in flight, so a response larger than the budget still goes out.
 */
export class SendGate {
  private inFlight = 0;
  private readonly queue: { readonly bytes: number; readonly admit: () => void }[] = [];
  private readonly limit: number;
  /** A release that never comes (a stuck stream) frees its bytes after this long. */
  private readonly staleMs: number;

  constructor(limitBytes: number, staleMs = 10_000) {
    this.limit = limitBytes;
    this.staleMs = staleMs;
  }

  /** Waits for room for `bytes`; the returned function releases it (calling it again is a no-op). */
  async acquire(bytes: number): Promise<() => void> {
    if (this.queue.length > 0 || !this.fits(bytes)) {
      await new Promise<void>((admit) => {
        this.queue.push({ bytes, admit });
      });
    } else {
      this.inFlight += bytes;
    }
    let released = false;
    const timer = setTimeout(() => {
      release();
    }, this.staleMs);
    timer.unref();
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.inFlight -= bytes;
      this.admitWaiting();
    };
    return release;
  }

  bytesInFlight(): number {
    return this.inFlight;
  }

  private fits(bytes: number): boolean {
    return this.inFlight === 0 || this.inFlight + bytes <= this.limit;
  }

  private admitWaiting(): void {
    for (let w = this.queue[0]; w && this.fits(w.bytes); w = this.queue[0]) {
      this.queue.shift();
      this.inFlight += w.bytes;
      w.admit();
    }
  }
}

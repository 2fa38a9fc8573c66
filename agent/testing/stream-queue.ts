/**
 * A queue over a stream's `data` events for tests: `next()` waits for the next message (or fails
 * after a deadline, naming how the stream ended), `none()` asserts that nothing arrives.
 */
import type { EventEmitter } from 'node:events';

export class StreamQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: (() => void)[] = [];
  private ended: string | undefined;

  constructor(stream: EventEmitter) {
    stream.on('data', (m: T) => {
      this.items.push(m);
      this.wake();
    });
    stream.on('error', (e: Error) => {
      this.ended = `error: ${e.message}`;
      this.wake();
    });
    stream.on('end', () => {
      this.ended ??= 'ended';
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  get endedWith(): string | undefined {
    return this.ended;
  }

  async next(ms = 3000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) return item;
      const left = deadline - Date.now();
      if (left <= 0 || this.ended !== undefined) {
        throw new Error(`no message within ${ms} ms${this.ended ? ` (stream ${this.ended})` : ''}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async none(ms = 200): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.items.length > 0) throw new Error(`${this.items.length} unexpected message(s)`);
  }

  /** Waits until the stream ends; resolves with how. */
  async end(ms = 3000): Promise<string> {
    const deadline = Date.now() + ms;
    while (this.ended === undefined) {
      if (Date.now() > deadline) throw new Error('stream did not end');
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.ended;
  }
}

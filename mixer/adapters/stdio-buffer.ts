/**
 * Helpers of the stdio adapter's hot path: a line buffer that writes once per turn of the event
 * loop, and a small memo for text computed from config-given strings (field names, severities).
 */

/** A memo of a pure function of a string; past `max` entries it computes without keeping. */
export class Memo<T> {
  private readonly map = new Map<string, T>();
  private readonly fn: (key: string) => T;
  private readonly max: number;

  constructor(fn: (key: string) => T, max = 1024) {
    this.fn = fn;
    this.max = max;
  }

  get(key: string): T {
    let v = this.map.get(key);
    if (v === undefined) {
      v = this.fn(key);
      if (this.map.size < this.max) this.map.set(key, v);
    }
    return v;
  }
}

/**
 * Text for a stream, written in one piece at the end of this turn of the event loop (or as soon
 * as `max` characters are waiting), so that reports handled in the same turn share a write.
 */
export class LineBuffer {
  private text = '';
  private written: Promise<void> | undefined;
  private readonly out: NodeJS.WritableStream;
  private readonly max: number;

  constructor(out: NodeJS.WritableStream, max = 64 * 1024) {
    this.out = out;
    this.max = max;
  }

  /** Queues text; the promise settles once it has been handed to the stream. */
  add(text: string): Promise<void> {
    this.text += text;
    const written = (this.written ??= new Promise((resolve) => {
      setImmediate(() => {
        this.written = undefined;
        this.flush();
        resolve();
      });
    }));
    if (this.text.length >= this.max) this.flush();
    return written;
  }

  /** Writes what is waiting now. */
  flush(): void {
    const t = this.text;
    this.text = '';
    if (t !== '') this.out.write(t);
  }
}

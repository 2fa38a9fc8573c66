/**
 * Push debouncing: changes arriving in a burst become one push, sent once the registry has been
 * quiet for `quietMs`, or at the latest `maxMs` after the first change of the burst (so a steady
 * trickle of changes cannot starve proxies).
 */
export interface DebounceOptions {
  readonly quietMs: number;
  readonly maxMs: number;
  /** Runs the push; gets the time of the burst's first change. */
  readonly run: (firstChangeAt: number) => void;
}

export class Debouncer {
  private readonly o: DebounceOptions;
  private firstAt: number | undefined;
  private quiet: NodeJS.Timeout | undefined;
  private max: NodeJS.Timeout | undefined;

  constructor(o: DebounceOptions) {
    this.o = o;
  }

  trigger(): void {
    if (this.firstAt === undefined) {
      this.firstAt = Date.now();
      this.max = setTimeout(() => {
        this.fire();
      }, this.o.maxMs);
    }
    clearTimeout(this.quiet);
    this.quiet = setTimeout(() => {
      this.fire();
    }, this.o.quietMs);
  }

  /** Cancels a pending push. */
  stop(): void {
    clearTimeout(this.quiet);
    clearTimeout(this.max);
    this.firstAt = undefined;
  }

  private fire(): void {
    const first = this.firstAt;
    this.stop();
    if (first !== undefined) this.o.run(first);
  }
}

/**
 * Batches reported attribute sets into Mixer Reports: a batch goes when it holds `maxEntries`
 * (1,000) sets or `maxDelayMs` (1 s) after its first set, delta-encoded (lib/mixer/compress.ts).
 * A Report that fails is retried with the next flush; sets wait in a bounded buffer (oldest
 * dropped and counted when Mixer stays away too long). `flush()` sends everything now (SIGTERM).
 * With a tracer, each Report is a CLIENT span of a trace of its own (a batch belongs to many
 * requests), sampled at the tracer's percentage; Mixer's span of the call is its child.
 */
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { Counter, Gauge, type Registry } from '../../lib/metrics.ts';
import { compressReport } from '../../lib/mixer/compress.ts';
import type { Value } from '../../lib/mixer/value.ts';
import type { Tracer } from '../../lib/tracing/types.ts';
import type { MixerApi } from './mixer-client.ts';

export interface ReportBatcherOptions {
  readonly mixer: MixerApi;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly maxEntries?: number;
  readonly maxDelayMs?: number;
  /** Sets kept while Mixer is unreachable (default 10,000). */
  readonly bufferLimit?: number;
  readonly timeoutMs?: number;
  readonly tracer?: Tracer | undefined;
}

type Bag = ReadonlyMap<string, Value>;

export class ReportBatcher {
  private readonly o: ReportBatcherOptions;
  private pending: Bag[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private readonly sets: Counter;
  private readonly requests: Counter;
  private readonly dropped: Counter;
  private readonly buffered: Gauge;

  constructor(o: ReportBatcherOptions) {
    this.o = o;
    const registers = [o.metrics];
    this.sets = new Counter({
      name: 'istio_agent_mixer_report_sets_total',
      help: 'attribute sets reported to Mixer',
      registers,
    });
    this.requests = new Counter({
      name: 'istio_agent_mixer_reports_total',
      help: 'Report requests sent to Mixer, by result',
      labelNames: ['result'],
      registers,
    });
    this.dropped = new Counter({
      name: 'istio_agent_mixer_report_sets_dropped_total',
      help: 'attribute sets dropped because Mixer was unreachable for too long',
      registers,
    });
    this.buffered = new Gauge({
      name: 'istio_agent_mixer_report_buffered',
      help: 'attribute sets waiting to be reported',
      registers,
    });
  }

  private get maxEntries(): number {
    return this.o.maxEntries ?? 1000;
  }

  add(bag: Bag): void {
    this.pending.push(bag);
    const limit = this.o.bufferLimit ?? 10_000;
    if (this.pending.length > limit) {
      const extra = this.pending.length - limit;
      this.pending.splice(0, extra);
      this.dropped.inc(extra);
    }
    this.buffered.set(this.pending.length);
    if (this.pending.length >= this.maxEntries) void this.flush(true);
    else
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.o.maxDelayMs ?? 1000);
  }

  /**
   * Sends every waiting set now (or, with `onlyFull`, the full batches); resolves when the
   * Reports were answered (or failed).
   */
  flush(onlyFull = false): Promise<void> {
    if (!onlyFull) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.sending = this.sending.then(() => this.sendAll(onlyFull));
    return this.sending;
  }

  private async sendAll(onlyFull: boolean): Promise<void> {
    while (this.pending.length > (onlyFull ? this.maxEntries - 1 : 0)) {
      const batch = this.pending.slice(0, this.maxEntries);
      // Usually one request; more when a set lacks an attribute of the set before it.
      for (const req of compressReport(batch)) {
        const span = this.o.tracer?.start('istio.mixer.v1.Mixer/Report', 'client');
        if (span?.sampled === true) span.setAttribute('istio.report.sets', req.attributes.length);
        try {
          await this.o.mixer.report(req, this.o.timeoutMs ?? 5000, span);
          span?.end();
        } catch (e) {
          span?.end(e);
          this.requests.inc({ result: 'error' });
          this.o.logger.warn(
            { error: errorMessage(e), waiting: this.pending.length },
            'Mixer Report failed; will retry',
          );
          this.timer ??= setTimeout(() => {
            this.timer = undefined;
            void this.flush();
          }, this.o.maxDelayMs ?? 1000);
          return;
        }
        // Only what Mixer acknowledged leaves the buffer: a retry never reports a set twice.
        this.pending.splice(0, req.attributes.length);
        this.buffered.set(this.pending.length);
        this.sets.inc(req.attributes.length);
        this.requests.inc({ result: 'ok' });
      }
    }
  }

  /** Flushes until nothing waits or `timeoutMs` passes (shutdown); resolves with what is left. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    await this.flush();
    while (this.pending.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      await this.flush();
    }
    return this.pending.length;
  }

  /** Sets not yet reported. */
  get waiting(): number {
    return this.pending.length;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Mixer's request-time core, shared by every API (Mixer v1, ext_authz, ALS, RLS): dispatch a
 * check or a report against the current snapshot and count what happened. No transport here.
 */
import type { Logger } from '../lib/log.ts';
import type { HistogramSeries } from '../lib/hot-histogram.ts';
import { Children, type Cell } from '../lib/metrics.ts';
import type { AttributeSets } from '../lib/mixer/decompress.ts';
import type { Value } from '../lib/mixer/value.ts';
import { codeNames } from './adapter.ts';
import type { ConfigController } from './config/controller.ts';
import {
  dispatchCheck,
  type CheckOutcome,
  type CheckPolicy,
  type QuotaAsk,
} from './dispatch/check.ts';
import { dispatchReport, type ReportOutcome } from './dispatch/report.ts';
import type { MixerMetrics } from './metrics.ts';
import {
  callerReferences,
  withWorkloadAttributes,
  workloadView,
  type WorkloadLookup,
} from './workload-attributes.ts';

export type Api = 'mixer' | 'ext_authz' | 'als' | 'rls';

export interface MixerCoreOptions {
  readonly controller: ConfigController;
  readonly policy: CheckPolicy;
  readonly metrics: MixerMetrics;
  readonly logger: Logger;
  /** Pods by IP: fills source/destination workload attributes the request lacks. */
  readonly workloads?: WorkloadLookup | undefined;
}

/**
 * Each set with its workload attributes, as it is handed out: a decoder may hand out one Map
 * updated in place (AttributeSets), so sets are enriched one at a time, never collected first.
 */
function enrichedSets(bags: AttributeSets, lookup: WorkloadLookup): AttributeSets {
  return {
    length: bags.length,
    *[Symbol.iterator]() {
      for (const b of bags) yield workloadView(b, lookup);
    },
  };
}

type Calls = readonly { handler: string; adapter: string; ms: number; ok: boolean }[];

/** A handler's metric cells, found by its name on every call it takes. */
interface HandlerCells {
  readonly adapter: string;
  readonly ok: Cell;
  readonly error: Cell;
  readonly seconds: HistogramSeries;
}

export class MixerCore {
  private readonly opts: MixerCoreOptions;
  private warned = 0;
  /** Metric cells and series, made once per label values. */
  private readonly checkSeconds: Children<HistogramSeries>;
  private readonly handlerCells = new Map<string, HandlerCells>();

  constructor(opts: MixerCoreOptions) {
    this.opts = opts;
    this.checkSeconds = new Children((api) => opts.metrics.checkSeconds.series({ api }));
  }

  get controller(): ConfigController {
    return this.opts.controller;
  }

  async check(
    api: Api,
    bag: ReadonlyMap<string, Value>,
    quotas: ReadonlyMap<string, QuotaAsk>,
    deduplicationId: string,
    preconditions = true,
  ): Promise<CheckOutcome> {
    const t0 = performance.now();
    const lookup = this.opts.workloads;
    const enriched = lookup ? withWorkloadAttributes(bag, lookup) : undefined;
    const dispatched = await dispatchCheck(
      this.opts.controller.snapshot(),
      enriched?.bag ?? bag,
      quotas,
      deduplicationId,
      this.opts.policy,
      preconditions,
    );
    const out = enriched
      ? { ...dispatched, referenced: callerReferences(dispatched.referenced, enriched, bag) }
      : dispatched;
    const code = out.status.code;
    this.opts.metrics.checkCounts.cell(api, codeNames.get(code) ?? String(code)).n++;
    this.checkSeconds.get(api).observe((performance.now() - t0) / 1000);
    this.observe(out.calls);
    this.logFailures(api, out.failures);
    return out;
  }

  async report(api: Api, bags: AttributeSets): Promise<ReportOutcome> {
    const lookup = this.opts.workloads;
    const sets = lookup ? enrichedSets(bags, lookup) : bags;
    const out = await dispatchReport(this.opts.controller.snapshot(), sets);
    const m = this.opts.metrics;
    m.reportSets.inc({ api }, bags.length);
    if (out.instanceErrors.length > 0) {
      m.instanceErrors.inc({ api }, out.instanceErrors.length);
      this.rateLimitedWarn(
        { api, errors: out.instanceErrors },
        'report instances could not be built',
      );
    }
    this.observe(out.calls);
    this.logFailures(api, out.failures);
    return out;
  }

  private observe(calls: Calls): void {
    for (const c of calls) {
      const cells = this.cellsOf(c.handler, c.adapter);
      (c.ok ? cells.ok : cells.error).n++;
      cells.seconds.observe(c.ms / 1000);
    }
  }

  /** Remade when a new config gives the handler's name to another adapter. */
  private cellsOf(handler: string, adapter: string): HandlerCells {
    let cells = this.handlerCells.get(handler);
    if (cells?.adapter !== adapter) {
      const m = this.opts.metrics;
      cells = {
        adapter,
        ok: m.dispatchCounts.cellOf([adapter, handler, 'ok']),
        error: m.dispatchCounts.cellOf([adapter, handler, 'error']),
        seconds: m.dispatchSeconds.series({ adapter }),
      };
      this.handlerCells.set(handler, cells);
    }
    return cells;
  }

  private logFailures(api: Api, failures: readonly { handler: string; error: string }[]): void {
    if (failures.length > 0) this.rateLimitedWarn({ api, failures }, 'adapter failed');
  }

  /** At most one warning per second (the metrics count every case). */
  private rateLimitedWarn(fields: object, msg: string): void {
    const now = Date.now();
    if (now - this.warned < 1000) return;
    this.warned = now;
    this.opts.logger.warn(fields, msg);
  }
}

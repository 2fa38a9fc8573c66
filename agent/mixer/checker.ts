/**
 * Decides a check: from the cache when an earlier answer of Mixer covers the request, otherwise
 * by asking Mixer (and remembering the answer when it may be reused). When Mixer cannot be
 * reached in time, fail open (allow) or closed (UNAVAILABLE) as configured; such answers are
 * never cached. Checks that consume quota always go to Mixer: a cached grant would let through
 * requests Mixer would have refused, so decisions stay equal to uncached ones. At most 16 misses
 * ask Mixer at once; the others wait for one of them and look in the cache again, so a burst of
 * new requests costs Mixer a few calls (docs/reference/mixer.md).
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { Counter, Histogram, HotCounts, type Registry } from '../../lib/metrics.ts';
import type { Value } from '../../lib/mixer/value.ts';
import type { SpanHandle } from '../../lib/tracing/types.ts';
import type { CheckCache, CachedStatus } from './check-cache.ts';
import type { MixerApi, MixerCheckResult } from './mixer-client.ts';

export const DecisionSource = ['cache', 'mixer', 'fail-open', 'fail-closed', 'no-mixer'] as const;
export type DecisionSource = (typeof DecisionSource)[number];

export interface Decision extends CachedStatus {
  readonly source: DecisionSource;
}

export interface CheckerOptions {
  /** undefined: no Mixer configured; every check is allowed. */
  readonly mixer: MixerApi | undefined;
  readonly cache: CheckCache;
  readonly failOpen: boolean;
  readonly timeoutMs: number;
  /** Quotas to ask for on every check (name → amount); usually none. */
  readonly quotas: ReadonlyMap<string, number>;
  readonly logger: Logger;
  readonly metrics: Registry;
}

/** How many renewals a check waits for before asking Mixer itself. */
const maxRenewalWaits = 3;
/**
 * Cache misses asking Mixer at once; more wait for one of them to finish and look in the cache
 * again. A burst of new requests (after a start, or for a new service) so costs Mixer a few calls,
 * not one per request: most of the burst shares a few answers.
 */
const maxMissCalls = 16;

export class Checker {
  private readonly o: CheckerOptions;
  /** Decisions by source and code, handed to their counter when it is scraped. */
  private readonly decisionCounts = new HotCounts(['source', 'code']);
  private readonly cacheInserts: Counter;
  private readonly refreshes: Counter;
  private readonly mixerSeconds: Histogram;
  private warnedAt = 0;
  /** Misses asking Mixer now, and the checks waiting for one of them to finish. */
  private missCalls = 0;
  private readonly queue: ((failed: Decision | undefined) => void)[] = [];

  constructor(o: CheckerOptions) {
    this.o = o;
    const registers = [o.metrics];
    const counts = this.decisionCounts;
    new Counter({
      name: 'istio_agent_mixer_checks_total',
      help: 'checks decided, by where the decision came from and its status code',
      labelNames: ['source', 'code'],
      registers,
      collect() {
        counts.publish(this);
      },
    });
    this.cacheInserts = new Counter({
      name: 'istio_agent_mixer_cache_inserts_total',
      help: 'Mixer answers offered to the check cache, by outcome (cached, regex, not-reusable)',
      labelNames: ['result'],
      registers,
    });
    this.refreshes = new Counter({
      name: 'istio_agent_mixer_cache_refreshes_total',
      help: 'cache entries near their end renewed by a background Check, by outcome (answered, failed)',
      labelNames: ['result'],
      registers,
    });
    this.mixerSeconds = new Histogram({
      name: 'istio_agent_mixer_check_seconds',
      help: 'Mixer Check latency seen by the agent',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
  }

  /** `span`: the check's span, when tracing is on; a call to Mixer is a child span of it. */
  async check(bag: ReadonlyMap<string, Value>, span?: SpanHandle): Promise<Decision> {
    let renewalWaits = 0;
    let woken = false;
    for (;;) {
      const s = this.fromCache(bag);
      if (s !== undefined && !(s instanceof Promise)) {
        // Woken for a free call slot and not using it: the next waiter may.
        if (woken) this.queue.shift()?.(undefined);
        return this.counted({ code: s.code, message: s.message, source: 'cache' });
      }
      if (s instanceof Promise && renewalWaits++ < maxRenewalWaits) {
        // Its entry ran out while being renewed: the renewal's answer serves this check too.
        await s;
        continue;
      }
      if (!this.cacheable() || this.missCalls < maxMissCalls) {
        return this.counted(await this.ask(bag, span));
      }
      // As many misses as allowed are asking Mixer: wait for one to finish (its answer may
      // well be this request's), then look again.
      const failed = await new Promise<Decision | undefined>((resolve) => this.queue.push(resolve));
      if (failed !== undefined) return this.counted(failed);
      woken = true;
    }
  }

  /**
   * The status from the cache, at once (counted as a decision from the cache), or undefined when
   * `check` must ask Mixer (a miss, no Mixer, quotas): the hot path of a warm cache takes no
   * promise and makes no object (the status is the cache's own).
   */
  cached(bag: ReadonlyMap<string, Value>): CachedStatus | undefined {
    const s = this.fromCache(bag);
    if (s === undefined || s instanceof Promise) return undefined;
    this.decisionCounts.cell('cache', s.code).n++;
    return s;
  }

  /** A status from the cache, a renewal to wait for, or undefined: ask Mixer. */
  private fromCache(bag: ReadonlyMap<string, Value>): CachedStatus | Promise<void> | undefined {
    const mixer = this.o.mixer;
    if (mixer === undefined || this.o.quotas.size > 0) return undefined;
    const hit = this.o.cache.lookup(bag);
    if (hit === undefined) return undefined;
    if ('wait' in hit) return hit.wait;
    if (hit.renew !== undefined) hit.renew(this.refresh(mixer, bag));
    return hit.status;
  }

  private counted(d: Decision): Decision {
    this.decisionCounts.cell(d.source, d.code).n++;
    return d;
  }

  /**
   * Asks Mixer for a miss, holding one of the maxMissCalls slots; when it ends the next waiting
   * check looks again (check).
   */
  private async ask(bag: ReadonlyMap<string, Value>, span?: SpanHandle): Promise<Decision> {
    this.missCalls++;
    let d: Decision;
    try {
      d = await this.decide(bag, span);
    } finally {
      this.missCalls--;
    }
    // Mixer out of reach: every check waiting gets the same answer now, not a turn to time out.
    if (d.source === 'fail-open' || d.source === 'fail-closed') {
      for (const w of this.queue.splice(0)) w(d);
    } else this.queue.shift()?.(undefined);
    return d;
  }

  /** Whether checks are answered from the cache at all (a Mixer, no quotas). */
  private cacheable(): boolean {
    return this.o.mixer !== undefined && this.o.quotas.size === 0;
  }

  private async decide(bag: ReadonlyMap<string, Value>, span?: SpanHandle): Promise<Decision> {
    const mixer = this.o.mixer;
    if (mixer === undefined) return { code: 0, message: '', source: 'no-mixer' };
    const useCache = this.o.quotas.size === 0;
    const t0 = performance.now();
    const call = span?.child('istio.mixer.v1.Mixer/Check', 'client');
    let answer: MixerCheckResult;
    try {
      answer = await mixer.check(bag, this.o.quotas, this.o.timeoutMs, call);
    } catch (e) {
      call?.end(e);
      return this.unreachable(e);
    }
    call?.end();
    this.mixerSeconds.observe((performance.now() - t0) / 1000);
    if (useCache) this.cacheInserts.inc({ result: this.o.cache.insert(bag, answer) });
    return { ...answer.status, source: 'mixer' };
  }

  /**
   * Renews a cache entry near its end with this request's answer (check-cache.ts, refresh
   * ahead), in the background; the check itself was answered from the entry. A failure leaves the
   * entry to run out, and the next miss asks Mixer as usual.
   */
  private refresh(mixer: MixerApi, bag: ReadonlyMap<string, Value>): Promise<void> {
    return mixer.check(bag, this.o.quotas, this.o.timeoutMs).then(
      (answer) => {
        this.refreshes.inc({ result: 'answered' });
        this.cacheInserts.inc({ result: this.o.cache.insert(bag, answer) });
      },
      () => {
        this.refreshes.inc({ result: 'failed' });
      },
    );
  }

  /** Fail open or closed when Mixer could not answer; a warning at most every 5 s. */
  private unreachable(e: unknown): Decision {
    const why = errorMessage(e);
    const now = Date.now();
    if (now - this.warnedAt > 5000) {
      this.warnedAt = now;
      this.o.logger.warn({ error: why, failOpen: this.o.failOpen }, 'Mixer Check failed');
    }
    return this.o.failOpen
      ? { code: 0, message: '', source: 'fail-open' }
      : {
          code: grpcStatus.UNAVAILABLE,
          message: `Mixer unreachable: ${why}`,
          source: 'fail-closed',
        };
  }
}

/**
 * `memquota`: quotas counted in this process's memory (for one Mixer replica; use redisquota when
 * Mixer runs replicated). With a `validDuration` a quota is a rate limit over a rolling window
 * (ten buckets per window); without one, a plain allocation that never expires. Requests that
 * repeat a `deduplication_id` within `minDeduplicationDuration` get the first answer again.
 */
import type { Adapter, QuotaResult } from '../adapter.ts';
import { counterKey, findQuota, limitFor, readQuotas, type QuotaLimit } from './quota-config.ts';

const bucketsPerWindow = 10;

interface Window {
  /** Bucket start (ms, a multiple of the bucket width) → amount granted in it. */
  readonly buckets: Map<number, number>;
  widthMs: number;
}

function used(w: Window, now: number, limit: QuotaLimit): number {
  if (limit.validDurationMs <= 0) return w.buckets.get(0) ?? 0;
  const oldest = now - limit.validDurationMs;
  let sum = 0;
  for (const [start, amount] of w.buckets) {
    if (start + w.widthMs <= oldest) w.buckets.delete(start);
    else sum += amount;
  }
  return sum;
}

export const memquota: Adapter = {
  name: 'memquota',
  description: 'Rate limits and allocations counted in memory (single Mixer replica).',
  templates: ['quota'],
  create(spec, env) {
    const quotas = readQuotas(spec, false);
    const dedupMs = spec.duration('minDeduplicationDuration', 1000);
    spec.done();
    const windows = new Map<string, Window>();
    const dedup = new Map<string, { result: QuotaResult; until: number }>();
    const sweep = setInterval(() => {
      const now = env.now();
      for (const [k, d] of dedup) if (d.until < now) dedup.delete(k);
      for (const [k, w] of windows) if (w.buckets.size === 0) windows.delete(k);
    }, 10_000);
    sweep.unref();

    return {
      validateInstance(i) {
        return findQuota(quotas, i.name) ? undefined : `memquota has no quota named ${i.name}`;
      },
      quota(instance, args) {
        const now = env.now();
        if (args.deduplicationId !== '') {
          const d = dedup.get(`${instance.name};${args.deduplicationId}`);
          if (d && d.until >= now) return d.result;
        }
        const q = findQuota(quotas, instance.name);
        if (q === undefined) return { granted: args.amount, validDurationMs: 0 };
        const { limit, override } = limitFor(q, instance.dimensions);
        const key = `${String(override)};${counterKey(q.name, instance.dimensions)}`;
        let w = windows.get(key);
        const widthMs =
          limit.validDurationMs > 0 ? Math.max(1, limit.validDurationMs / bucketsPerWindow) : 1;
        if (w === undefined) {
          w = { buckets: new Map(), widthMs };
          windows.set(key, w);
        }
        const available = Math.max(0, limit.maxAmount - used(w, now, limit));
        const granted = available >= args.amount ? args.amount : args.bestEffort ? available : 0;
        if (granted > 0) {
          const slot = limit.validDurationMs > 0 ? Math.floor(now / w.widthMs) * w.widthMs : 0;
          w.buckets.set(slot, (w.buckets.get(slot) ?? 0) + granted);
        }
        const result: QuotaResult = { granted, validDurationMs: limit.validDurationMs };
        if (args.deduplicationId !== '') {
          dedup.set(`${instance.name};${args.deduplicationId}`, { result, until: now + dedupMs });
        }
        return result;
      },
      close() {
        clearInterval(sweep);
      },
    };
  },
};

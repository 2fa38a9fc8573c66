/**
 * Quota limits as memquota and redisquota configure them: per quota (named by its instance's
 * fully qualified name) a `maxAmount` per `validDuration`, and `overrides` that apply when all of
 * their dimensions equal the instance's (the first match wins). Also the dimension key that
 * identifies one counter.
 */
import { formatValue, type Value } from '../../lib/mixer/value.ts';
import type { FieldReader } from '../adapter.ts';

export interface QuotaLimit {
  readonly maxAmount: number;
  readonly validDurationMs: number;
  /** redisquota: the rolling window's bucket; 0 elsewhere. */
  readonly bucketDurationMs: number;
}

export interface QuotaOverride extends QuotaLimit {
  readonly dimensions: ReadonlyMap<string, string>;
}

export interface QuotaConfig extends QuotaLimit {
  readonly name: string;
  readonly overrides: readonly QuotaOverride[];
}

export function readQuotas(
  spec: FieldReader,
  withBuckets: boolean,
  extra?: (q: FieldReader) => void,
): QuotaConfig[] {
  const quotas = spec.list('quotas').map((q) => {
    const name = q.requiredString('name');
    const maxAmount = q.integer('maxAmount', 0);
    const validDurationMs = q.duration('validDuration', 0);
    const bucketDurationMs = withBuckets ? q.duration('bucketDuration', 0) : 0;
    if (withBuckets && bucketDurationMs > validDurationMs) {
      q.fail('bucketDuration', 'must not be longer than validDuration');
    }
    extra?.(q);
    const overrides = q.list('overrides').map((o) => {
      const dimensions = o.stringMap('dimensions');
      if (dimensions.size === 0) o.fail('dimensions', 'an override needs at least one dimension');
      const limit = {
        dimensions,
        maxAmount: o.integer('maxAmount', maxAmount),
        validDurationMs: withBuckets
          ? validDurationMs
          : o.duration('validDuration', validDurationMs),
        bucketDurationMs,
      };
      o.done();
      return limit;
    });
    q.done();
    return { name, maxAmount, validDurationMs, bucketDurationMs, overrides };
  });
  const seen = new Set<string>();
  quotas.forEach((q, i) => {
    if (seen.has(q.name))
      spec.fail(`quotas[${String(i)}].name`, `quota ${q.name} is configured twice`);
    seen.add(q.name);
  });
  return quotas;
}

/** The quota config for an instance name (`requestcount.quota.ns`, also matched as `requestcount.quota`). */
export function findQuota(
  quotas: readonly QuotaConfig[],
  instanceName: string,
): QuotaConfig | undefined {
  return quotas.find(
    (q) =>
      q.name === instanceName || `${q.name}.${instanceName.split('.')[2] ?? ''}` === instanceName,
  );
}

export function limitFor(
  q: QuotaConfig,
  dims: ReadonlyMap<string, Value>,
): { limit: QuotaLimit; override: number } {
  for (let i = 0; i < q.overrides.length; i++) {
    const o = q.overrides[i] as QuotaOverride;
    let all = true;
    for (const [k, want] of o.dimensions) {
      const v = dims.get(k);
      if (v === undefined || formatValue(v) !== want) {
        all = false;
        break;
      }
    }
    if (all) return { limit: o, override: i };
  }
  return { limit: q, override: -1 };
}

/** A stable key for one counter: the quota, then the dimensions sorted by name. */
export function counterKey(quota: string, dims: ReadonlyMap<string, Value>): string {
  const parts = [...dims].map(([k, v]) => `${k}=${formatValue(v)}`).sort();
  return `${quota};${parts.join(';')}`;
}

/**
 * `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`: each descriptor is one quota
 * request. Its entries are attributes (carrier keys, see lib/mixer/envoy-attributes.ts); the
 * entry `quota` names the quota (default: the request's domain); `hits_addend` is the amount
 * (default 1). A descriptor granted less than asked is OVER_LIMIT, and so is the whole answer.
 */
import { attributesFromDescriptor } from '../../lib/mixer/envoy-attributes.ts';
import { Duration } from '../../lib/mixer/value.ts';
import type { MixerCore } from '../core.ts';

interface DescriptorStatus {
  code: 'OK' | 'OVER_LIMIT';
  duration_until_reset?: { seconds: number; nanos: number };
}

export interface RateLimitResponse {
  readonly overall_code: 'OK' | 'OVER_LIMIT';
  readonly statuses: DescriptorStatus[];
}

function quotaName(descriptor: unknown, domain: string): string {
  const entries = (descriptor as { entries?: unknown } | null)?.entries;
  if (Array.isArray(entries)) {
    for (const e of entries) {
      const r = e as { key?: unknown; value?: unknown } | null;
      if (r?.key === 'quota' && typeof r.value === 'string' && r.value !== '') return r.value;
    }
  }
  return domain;
}

export async function shouldRateLimit(
  core: MixerCore,
  request: unknown,
): Promise<RateLimitResponse> {
  const r = request as { domain?: unknown; descriptors?: unknown; hits_addend?: unknown } | null;
  const domain = typeof r?.domain === 'string' ? r.domain : '';
  const descriptors = Array.isArray(r?.descriptors) ? (r.descriptors as unknown[]) : [];
  const hits = typeof r?.hits_addend === 'number' && r.hits_addend > 0 ? r.hits_addend : 1;
  const statuses = await Promise.all(
    descriptors.map(async (d): Promise<DescriptorStatus> => {
      const name = quotaName(d, domain);
      const dh = (d as { hits_addend?: unknown } | null)?.hits_addend;
      const amount = typeof dh === 'number' && dh > 0 ? dh : hits;
      const out = await core.check(
        'rls',
        attributesFromDescriptor(d),
        new Map([[name, { amount, bestEffort: false }]]),
        '',
        false,
      );
      const q = out.quotas.get(name);
      const ok = q !== undefined && q.granted >= amount;
      return {
        code: ok ? 'OK' : 'OVER_LIMIT',
        ...(q && q.validDurationMs > 0
          ? { duration_until_reset: new Duration(q.validDurationMs).toProto() }
          : {}),
      };
    }),
  );
  return { overall_code: statuses.every((s) => s.code === 'OK') ? 'OK' : 'OVER_LIMIT', statuses };
}

/**
 * The agent's client of Mixer v1 (`istio.mixer.v1.Mixer`, lib/mixer/protos.ts): Check with
 * compressed attributes (global dictionary plus message words) and optional quotas, and Report
 * with a delta-encoded batch. Responses are untrusted and narrowed here into typed values. A call
 * made inside a span carries that span's context (B3 and W3C headers in the gRPC metadata), so
 * Mixer's span of it joins the trace.
 */
import { randomBytes } from 'node:crypto';
import { credentials, Metadata, type ChannelOptions } from '@grpc/grpc-js';
import { unaryClient } from '../../lib/grpc/services.ts';
import { compress, WordTable } from '../../lib/mixer/compress.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import type { Value } from '../../lib/mixer/value.ts';
import { metadataSetter } from '../../lib/tracing/carriers.ts';
import type { SpanHandle } from '../../lib/tracing/types.ts';
import {
  Condition,
  type AttributeMatchMessage,
  type ReferencedAttributesMessage,
  type ReportRequestMessage,
} from '../../lib/mixer/wire.ts';
import type { Cacheable } from './check-cache.ts';

export interface MixerCheckResult extends Cacheable {
  /** Granted amount by quota name. */
  readonly quotas: ReadonlyMap<string, number>;
}

/** What the checker and the batcher need from Mixer (a fake in unit tests is this small). */
export interface MixerApi {
  /** `span`: the call's own (client) span, whose context Mixer receives. */
  check(
    bag: ReadonlyMap<string, Value>,
    quotas: ReadonlyMap<string, number>,
    deadlineMs: number,
    span?: SpanHandle,
  ): Promise<MixerCheckResult>;
  report(request: ReportRequestMessage, deadlineMs: number, span?: SpanHandle): Promise<void>;
  close(): void;
}

/** gRPC metadata carrying `span`'s context, or none. */
function traceMetadata(span: SpanHandle | undefined): { metadata?: Metadata } {
  if (span === undefined) return {};
  const metadata = new Metadata();
  span.inject(metadataSetter(metadata));
  return { metadata };
}

type Rec = Record<string, unknown>;

function rec(v: unknown): Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : {};
}

function n(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function durationMs(v: unknown): number {
  const d = rec(v);
  return n(d['seconds']) * 1000 + n(d['nanos']) / 1e6;
}

const conditions = new Set<string>(Object.values(Condition));

function referenced(v: unknown): ReferencedAttributesMessage {
  const r = rec(v);
  const words = Array.isArray(r['words']) ? r['words'].filter((w) => typeof w === 'string') : [];
  const raw = Array.isArray(r['attribute_matches']) ? r['attribute_matches'] : [];
  const matches: AttributeMatchMessage[] = raw.map((m) => {
    const x = rec(m);
    const c =
      typeof x['condition'] === 'string' && conditions.has(x['condition'])
        ? (x['condition'] as Condition)
        : Condition.REGEX;
    return { name: n(x['name']), condition: c, map_key: n(x['map_key']) };
  });
  return { words, attribute_matches: matches };
}

/** Narrows a decoded CheckResponse. A condition this client does not know counts as REGEX (never cached). */
export function parseCheckResponse(res: unknown): MixerCheckResult {
  const p = rec(rec(res)['precondition']);
  const st = rec(p['status']);
  const quotas = new Map<string, number>();
  for (const [name, q] of Object.entries(rec(rec(res)['quotas'])))
    quotas.set(name, n(rec(q)['granted_amount']));
  return {
    status: {
      code: n(st['code']),
      message: typeof st['message'] === 'string' ? st['message'] : '',
    },
    validMs: durationMs(p['valid_duration']),
    validUseCount: n(p['valid_use_count']),
    referenced: referenced(p['referenced_attributes']),
    quotas,
  };
}

export function createMixerClient(address: string, channelOptions: ChannelOptions = {}): MixerApi {
  const client = unaryClient(mixerService(), address, credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    ...channelOptions,
  });
  return {
    async check(bag, quotas, deadlineMs, span) {
      const t = new WordTable();
      const attributes = compress(bag, t);
      const q: Record<string, { amount: number; best_effort: boolean }> = {};
      for (const [name, amount] of quotas) q[name] = { amount, best_effort: false };
      const res = await client.call(
        'Check',
        {
          attributes,
          global_word_count: t.globalWordCount,
          deduplication_id: randomBytes(8).toString('hex'),
          quotas: q,
        },
        { deadlineMs, ...traceMetadata(span) },
      );
      return parseCheckResponse(res);
    },
    async report(request, deadlineMs, span) {
      await client.call('Report', request, { deadlineMs, ...traceMetadata(span) });
    },
    close() {
      client.close();
    },
  };
}

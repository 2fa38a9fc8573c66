/**
 * The agent's client of Mixer v1 (`istio.mixer.v1.Mixer`, lib/mixer/protos.ts): Check with
 * compressed attributes (global dictionary plus message words) and optional quotas, and Report
 * with a delta-encoded batch. Responses are untrusted and narrowed here into typed values. A call
 * made inside a span carries that span's context (B3 and W3C headers in the gRPC metadata), so
 * Mixer's span of it joins the trace.
 */
import { randomBytes } from 'node:crypto';
import { H2GrpcClient } from '../../lib/grpc/h2-client.ts';
import { encodeCheckRequest } from '../../lib/mixer/check-request-wire.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import type { Value } from '../../lib/mixer/value.ts';
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

/** Request metadata carrying `span`'s context (B3 and W3C headers), or none. */
function traceMetadata(span: SpanHandle | undefined): { metadata?: [string, string][] } {
  if (span === undefined) return {};
  const metadata: [string, string][] = [];
  span.inject((name, value) => {
    metadata.push([name.toLowerCase(), value]);
  });
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

/**
 * A Mixer client on lib/grpc/h2-client.ts (plaintext HTTP/2, as Mixer serves in 0.2): the agent
 * calls Check on every cache miss and every renewal, so the call is a header block and one DATA
 * frame, not grpc-js's call stack (whose objects outlived the young generation under load).
 */
export function createMixerClient(address: string): MixerApi {
  const client = new H2GrpcClient(address, { maxReceiveMessageLength: 16 * 1024 * 1024 });
  const service = mixerService();
  const method = (name: string) => {
    const def = service[name];
    if (def === undefined) throw new Error(`istio.mixer.v1.Mixer has no ${name}`);
    return def;
  };
  const checkDef = method('Check');
  const reportDef = method('Report');
  return {
    async check(bag, quotas, deadlineMs, span) {
      // Bytes straight from the bag (lib/mixer/check-request-wire.ts): no message objects.
      const request = encodeCheckRequest(bag, quotas, randomBytes(8).toString('hex'));
      const res = await client.unary(checkDef.path, request, {
        deadlineMs,
        ...traceMetadata(span),
      });
      return parseCheckResponse(checkDef.responseDeserialize(res));
    },
    async report(request, deadlineMs, span) {
      await client.unary(reportDef.path, reportDef.requestSerialize(request), {
        deadlineMs,
        ...traceMetadata(span),
      });
    },
    close() {
      client.close();
    },
  };
}

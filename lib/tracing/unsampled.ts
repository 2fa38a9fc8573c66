/**
 * The check path's shortcut: most requests a traced Envoy checks carry a context whose decision is
 * "not sampled" (at 1%, 99 in 100). For those no OpenTelemetry span is made: the context is read
 * with a few string tests and written on unchanged (B3 and W3C, flag "not sampled") when the agent
 * calls Mixer, so Mixer keeps the decision. Anything else (sampled, deferred, malformed) goes to
 * the SDK.
 */
import type { HeaderGetter, HeaderSetter, SpanHandle } from './types.ts';

const traceIdRe = /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/;
const spanIdRe = /^[0-9a-f]{16}$/;

class UnsampledSpan implements SpanHandle {
  readonly sampled = false;
  readonly traceId: string;
  readonly spanId: string;

  constructor(traceId: string, spanId: string) {
    this.traceId = traceId.padStart(32, '0');
    this.spanId = spanId;
  }

  child(): SpanHandle {
    return this;
  }

  inject(set: HeaderSetter): void {
    set('x-b3-traceid', this.traceId);
    set('x-b3-spanid', this.spanId);
    set('x-b3-sampled', '0');
    set('traceparent', `00-${this.traceId}-${this.spanId}-00`);
  }

  setAttribute(): void {
    // not recorded
  }

  end(): void {
    // not recorded
  }
}

function ids(traceId: string, spanId: string): SpanHandle | undefined {
  const t = traceId.toLowerCase();
  const s = spanId.toLowerCase();
  if (!traceIdRe.test(t) || !spanIdRe.test(s) || /^0+$/.test(t) || /^0+$/.test(s)) return undefined;
  return new UnsampledSpan(t, s);
}

/**
 * The caller's context when it explicitly says "not sampled", in the order contexts are read (W3C,
 * B3 single, B3 multi); undefined otherwise.
 */
export function unsampledContext(get: HeaderGetter): SpanHandle | undefined {
  const tp = get('traceparent');
  if (tp !== undefined) {
    const p = tp.trim().split('-');
    if (p.length < 4 || p[0] === 'ff' || (parseInt(p[3] ?? '', 16) & 1) !== 0) return undefined;
    return p[0]?.length === 2 && p[1]?.length === 32 ? ids(p[1], p[2] ?? '') : undefined;
  }
  const b3 = get('b3');
  if (b3 !== undefined) {
    const p = b3.trim().split('-');
    return p[2] === '0' ? ids(p[0] ?? '', p[1] ?? '') : undefined;
  }
  const traceId = get('x-b3-traceid');
  if (traceId === undefined || get('x-b3-sampled') !== '0' || get('x-b3-flags') === '1') {
    return undefined;
  }
  return ids(traceId, get('x-b3-spanid') ?? '');
}

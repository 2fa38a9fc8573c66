/**
 * Tracing of Mixer's own calls: each gRPC call is a Zipkin SERVER span. Incoming trace context is
 * honoured, B3 (multi-header `x-b3-*` or single `b3`) or W3C `traceparent`: the span joins that
 * trace as a child and keeps its sampling decision; a call without context starts a trace sampled
 * at `sampling` (0–1). Spans are batched and POSTed as Zipkin v2 JSON to `zipkinUrl`
 * (`http://zipkin:9411/api/v2/spans`) every second or 100 spans; `close` sends the rest. Without a
 * URL nothing is traced and calls run bare.
 */
import { randomBytes } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { CallTracer } from './grpc-server.ts';

export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean | undefined;
}

export interface ZipkinSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name: string;
  readonly kind: 'SERVER';
  readonly timestamp: number;
  readonly duration: number;
  readonly localEndpoint: { readonly serviceName: string };
  readonly tags: Readonly<Record<string, string>>;
}

export interface Tracer {
  readonly traceCall: CallTracer;
  /** Sends buffered spans and stops the timer. */
  close(): Promise<void>;
}

function header(md: Metadata, name: string): string | undefined {
  const v = md.get(name)[0];
  return typeof v === 'string' && v !== '' ? v.trim() : undefined;
}

const hex = (n: number) => new RegExp(`^[0-9a-f]{${String(n)}}$`);
const traceIdRe = /^([0-9a-f]{16}|[0-9a-f]{32})$/;
const spanIdRe = hex(16);

/** The caller's trace context from gRPC metadata (W3C first, then B3 single, then B3 multi). */
export function extractContext(md: Metadata): TraceContext | undefined {
  const tp = header(md, 'traceparent');
  if (tp !== undefined) {
    const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(tp.toLowerCase());
    if (m && m[1] !== 'ff' && !/^0+$/.test(m[2] ?? '') && !/^0+$/.test(m[3] ?? '')) {
      return {
        traceId: m[2] ?? '',
        spanId: m[3] ?? '',
        sampled: (parseInt(m[4] ?? '0', 16) & 1) === 1,
      };
    }
  }
  const b3 = header(md, 'b3');
  if (b3 !== undefined) {
    if (b3 === '0' || b3 === '1' || b3 === 'd') return undefined;
    const [traceId = '', spanId = '', s] = b3.toLowerCase().split('-');
    if (traceIdRe.test(traceId) && spanIdRe.test(spanId)) {
      return { traceId, spanId, sampled: s === undefined ? undefined : s === '1' || s === 'd' };
    }
  }
  const traceId = header(md, 'x-b3-traceid')?.toLowerCase();
  const spanId = header(md, 'x-b3-spanid')?.toLowerCase();
  if (
    traceId !== undefined &&
    spanId !== undefined &&
    traceIdRe.test(traceId) &&
    spanIdRe.test(spanId)
  ) {
    const s = header(md, 'x-b3-sampled');
    const debug = header(md, 'x-b3-flags') === '1';
    return {
      traceId,
      spanId,
      sampled: debug ? true : s === undefined ? undefined : s === '1' || s === 'true',
    };
  }
  return undefined;
}

function newId(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function createTracer(options: {
  readonly zipkinUrl?: string | undefined;
  readonly serviceName: string;
  readonly logger: Logger;
  readonly sampling?: number;
  readonly flushMs?: number;
}): Tracer {
  const url = options.zipkinUrl;
  if (url === undefined || url === '') {
    return { traceCall: (_m, _md, run) => run(), close: () => Promise.resolve() };
  }
  const sampling = options.sampling ?? 1;
  let buffer: ZipkinSpan[] = [];
  let sending: Promise<void> = Promise.resolve();
  let failures = 0;

  const send = (): Promise<void> => {
    if (buffer.length === 0) return sending;
    const spans = buffer;
    buffer = [];
    sending = sending.then(async () => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(spans),
          signal: AbortSignal.timeout(5000),
        });
        if (!res.ok) throw new Error(`HTTP ${String(res.status)}`);
        await res.arrayBuffer();
      } catch (e) {
        if (failures++ % 100 === 0)
          options.logger.warn(
            { url, spans: spans.length, err: errorMessage(e) },
            'sending spans to Zipkin failed; dropped',
          );
      }
    });
    return sending;
  };
  const timer = setInterval(() => void send(), options.flushMs ?? 1000);
  timer.unref();

  const traceCall: CallTracer = async (method, md, run) => {
    const parent = extractContext(md);
    const sampled = parent?.sampled ?? Math.random() < sampling;
    if (!sampled) return run();
    const start = Date.now();
    const t0 = performance.now();
    let error: unknown;
    try {
      return await run();
    } catch (e) {
      error = e;
      throw e;
    } finally {
      const span: ZipkinSpan = {
        traceId: parent?.traceId ?? newId(16),
        id: newId(8),
        ...(parent ? { parentId: parent.spanId } : {}),
        name: method,
        kind: 'SERVER',
        timestamp: start * 1000,
        duration: Math.max(1, Math.round((performance.now() - t0) * 1000)),
        localEndpoint: { serviceName: options.serviceName },
        tags:
          error === undefined
            ? { 'grpc.method': method }
            : { 'grpc.method': method, error: errorMessage(error) },
      };
      buffer.push(span);
      if (buffer.length >= 100) void send();
    }
  };

  return {
    traceCall,
    async close() {
      clearInterval(timer);
      await send();
    },
  };
}

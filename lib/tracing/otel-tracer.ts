/**
 * The Tracer of tracer.ts on OpenTelemetry's trace SDK: a TracerProvider with a parent-based
 * sampler (the caller's decision, else `samplingPercent` by trace id), a batch processor and the
 * Zipkin exporter; W3C Trace Context and B3 propagators. Nothing is registered globally: each
 * tracer has its own provider, and contexts are passed explicitly (no async context manager).
 * Imported only by `loadTracer`.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  ExportResultCode,
  W3CTraceContextPropagator,
  type ExportResult,
} from '@opentelemetry/core';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { errorMessage } from '../errors.ts';
import { unsampledContext } from './unsampled.ts';
import type {
  HeaderGetter,
  HeaderSetter,
  SpanHandle,
  SpanKindName,
  Tracer,
  TracerOptions,
} from './types.ts';

const kinds: Readonly<Record<SpanKindName, SpanKind>> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
};

const getter: TextMapGetter<HeaderGetter> = {
  get: (get, key) => get(key),
  // Propagators only call keys() for formats that enumerate headers (not W3C or B3).
  keys: () => [],
};

const setter: TextMapSetter<HeaderSetter> = {
  set: (set, key, value) => {
    set(key, value);
  },
};

// Extraction: later propagators win, so W3C (last) is preferred over B3 (single, then multi).
const extractor = new CompositePropagator({
  propagators: [new B3Propagator(), new W3CTraceContextPropagator()],
});
// Injection: B3 multi-header (what Envoy's Zipkin tracer reads and writes) and W3C.
const injector = new CompositePropagator({
  propagators: [
    new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
    new W3CTraceContextPropagator(),
  ],
});

/** The exporter, logging failed sends (at most one line a minute) instead of OTel's diag. */
function loggingExporter(inner: SpanExporter, o: TracerOptions): SpanExporter {
  let warnedAt = 0;
  let failed = 0;
  return {
    export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
      inner.export(spans, (r) => {
        if (r.code !== ExportResultCode.SUCCESS) {
          failed += spans.length;
          if (Date.now() - warnedAt > 60_000) {
            warnedAt = Date.now();
            o.logger.warn(
              { url: o.zipkinUrl, dropped: failed, error: errorMessage(r.error) },
              'sending spans to the Zipkin collector failed; dropped',
            );
            failed = 0;
          }
        }
        done(r);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

class OtelSpan implements SpanHandle {
  private readonly span: Span;
  private readonly tracer: OtelTracer;

  constructor(span: Span, tracer: OtelTracer) {
    this.span = span;
    this.tracer = tracer;
  }

  get sampled(): boolean {
    return this.span.isRecording();
  }

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  get spanId(): string {
    return this.span.spanContext().spanId;
  }

  private context(): Context {
    return trace.setSpan(ROOT_CONTEXT, this.span);
  }

  child(name: string, kind: SpanKindName): SpanHandle {
    return this.tracer.startIn(name, kind, this.context());
  }

  inject(set: HeaderSetter): void {
    injector.inject(this.context(), set, setter);
  }

  setAttribute(key: string, value: string | number | boolean): void {
    this.span.setAttribute(key, value);
  }

  end(error?: unknown): void {
    if (error !== undefined) {
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    }
    this.span.end();
  }
}

class OtelTracer implements Tracer {
  private readonly provider: TracerProvider;
  private readonly exporter: SpanExporter;
  private readonly tracer: ReturnType<TracerProvider['getTracer']>;

  constructor(o: TracerOptions) {
    this.exporter = loggingExporter(
      new ZipkinExporter({ url: o.zipkinUrl, serviceName: o.serviceName }),
      o,
    );
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': o.serviceName, ...o.attributes }),
      sampler: new ParentBasedSampler({
        root: new TraceIdRatioBasedSampler(o.samplingPercent / 100),
      }),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter: this.exporter,
          scheduledDelayMillis: o.flushMs ?? 1000,
          exportTimeoutMillis: 5000,
        }),
      ],
    });
    this.tracer = this.provider.getTracer('istio-lite');
  }

  startIn(name: string, kind: SpanKindName, parent: Context): SpanHandle {
    return new OtelSpan(this.tracer.startSpan(name, { kind: kinds[kind] }, parent), this);
  }

  start(name: string, kind: SpanKindName, parent?: HeaderGetter): SpanHandle {
    const unsampled = parent === undefined ? undefined : unsampledContext(parent);
    if (unsampled !== undefined) return unsampled;
    const ctx =
      parent === undefined ? ROOT_CONTEXT : extractor.extract(ROOT_CONTEXT, parent, getter);
    return this.startIn(name, kind, ctx);
  }

  // Sending is best effort: a collector that is down costs spans (the exporter logs it), never a
  // rejected flush or a failed shutdown.
  async flush(): Promise<void> {
    try {
      await this.provider.forceFlush();
      // The processor's flush does not wait for a batch its timer is already sending.
      await this.exporter.forceFlush?.();
    } catch {
      // logged by loggingExporter
    }
  }

  async close(): Promise<void> {
    try {
      await this.provider.shutdown();
    } catch {
      // logged by loggingExporter
    }
  }
}

export function createOtelTracer(o: TracerOptions): Tracer {
  return new OtelTracer(o);
}

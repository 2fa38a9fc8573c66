/**
 * Spans of the agent's and Mixer's own calls, sent to a Zipkin collector (Jaeger takes the same
 * format) with OpenTelemetry's SDK (otel-tracer.ts). This module loads none of it: `loadTracer`
 * imports the SDK on first use, so a process without a collector never pays for it (the agent is
 * a per-pod process whose memory bench/agent measures).
 *
 * Context travels as headers (gRPC metadata, HTTP headers) in W3C `traceparent` and B3 (`b3` or
 * `x-b3-*`), read in that order and both written, as Envoy's Zipkin tracer and Istio's apps use
 * B3 and OpenTelemetry uses W3C. A span continues its caller's trace and keeps the caller's
 * sampling decision; a span with no caller starts a trace sampled at `samplingPercent`.
 */
import type { Tracer, TracerOptions } from './types.ts';

export type {
  HeaderGetter,
  HeaderSetter,
  SpanHandle,
  SpanKindName,
  Tracer,
  TracerOptions,
} from './types.ts';

/** The Zipkin v2 spans endpoint of a collector at host:port. */
export function zipkinSpansUrl(hostPort: string): string {
  return `http://${hostPort}/api/v2/spans`;
}

/** Loads OpenTelemetry's SDK (once per process) and returns a tracer sending to the collector. */
export async function loadTracer(o: TracerOptions): Promise<Tracer> {
  const { createOtelTracer } = await import('./otel-tracer.ts');
  return createOtelTracer(o);
}

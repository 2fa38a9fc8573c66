/**
 * The tracing types the agent and Mixer program against (tracer.ts loads the implementation).
 */
import type { Logger } from '../log.ts';

/** Reads one header (lower-case name); undefined when absent. */
export type HeaderGetter = (name: string) => string | undefined;
/** Writes one header. */
export type HeaderSetter = (name: string, value: string) => void;

export type SpanKindName = 'server' | 'client' | 'internal';

export interface SpanHandle {
  /** Whether this span is recorded and sent (the trace was sampled). */
  readonly sampled: boolean;
  readonly traceId: string;
  readonly spanId: string;
  /** A span under this one (a `client` span for a call this one makes). */
  child(name: string, kind: SpanKindName): SpanHandle;
  /** Writes this span's context, sampled or not, so the callee continues the trace. */
  inject(set: HeaderSetter): void;
  setAttribute(key: string, value: string | number | boolean): void;
  /** Ends the span; an error marks it failed with its message. */
  end(error?: unknown): void;
}

export interface Tracer {
  /** A span continuing the context `parent` reads, or starting a trace when it holds none. */
  start(name: string, kind: SpanKindName, parent?: HeaderGetter): SpanHandle;
  /** Sends every ended span now. */
  flush(): Promise<void>;
  /** Sends what is left and stops; later spans are dropped. */
  close(): Promise<void>;
}

export interface TracerOptions {
  /** Zipkin v2 JSON endpoint (`http://zipkin:9411/api/v2/spans`). */
  readonly zipkinUrl: string;
  /** `localEndpoint.serviceName` of every span. */
  readonly serviceName: string;
  /** Percent (0–100) of traces started here (no caller context) that are sampled. */
  readonly samplingPercent: number;
  /** Extra attributes on every span (`istio.node`, ...). */
  readonly attributes?: Readonly<Record<string, string>>;
  readonly logger: Logger;
  /** How long ended spans wait before they are sent (default 1 s). */
  readonly flushMs?: number;
}

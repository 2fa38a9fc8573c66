/**
 * Tracing of Mixer's own calls (lib/tracing): each gRPC call is a SERVER span. A call carrying a
 * trace context (W3C `traceparent`, B3 `b3` or `x-b3-*`: the agent passes its request's on) joins
 * that trace as a child and keeps its sampling decision; a call without one starts a trace
 * sampled at the configured percentage. Unsampled calls run bare.
 */
import type { Tracer } from '../lib/tracing/tracer.ts';
import type { CallTracer } from './grpc-server.ts';

export function callTracer(tracer: Tracer): CallTracer {
  return async (method, headers, run) => {
    const span = tracer.start(method, 'server', headers);
    if (!span.sampled) return run();
    span.setAttribute('rpc.method', method);
    try {
      const out = await run();
      span.end();
      return out;
    } catch (e) {
      span.end(e);
      throw e;
    }
  };
}

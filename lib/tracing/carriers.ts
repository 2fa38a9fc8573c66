/**
 * Header readers and writers over the carriers trace context travels in: gRPC metadata and plain
 * header maps (an ext_authz CheckRequest's HTTP headers). No OpenTelemetry here: the agent reads
 * these on every check, whether or not the SDK is loaded.
 */
import type { Metadata } from '@grpc/grpc-js';
import type { HeaderGetter, HeaderSetter } from './types.ts';

/** A W3C or B3 trace context has one of these (the others only go with them). */
export const TraceHeaders = ['traceparent', 'b3', 'x-b3-traceid'] as const;

export function metadataGetter(md: Metadata): HeaderGetter {
  return (name) => {
    const v = md.get(name)[0];
    return typeof v === 'string' ? v : undefined;
  };
}

export function metadataSetter(md: Metadata): HeaderSetter {
  return (name, value) => {
    md.set(name, value);
  };
}

/** A header map with lower-case names (a check's `request.headers` attribute). */
export function mapGetter(headers: ReadonlyMap<string, string>): HeaderGetter {
  return (name) => headers.get(name);
}

/** Whether `get` finds any trace header (a context worth extracting). */
export function hasTraceContext(get: HeaderGetter): boolean {
  return TraceHeaders.some((h) => get(h) !== undefined);
}

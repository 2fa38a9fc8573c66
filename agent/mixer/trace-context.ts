/**
 * Where an ext_authz check's trace context is: the gRPC metadata of Envoy's call (`call`) (with a traced
 * HTTP connection manager, Envoy's ext_authz client passes its own span's context there), else
 * the checked request's headers in the CheckRequest (a caller's `x-b3-*`, `b3` or
 * `traceparent`). docs/reference/tracing.md, "Envoy".
 */
import type { Value } from '../../lib/mixer/value.ts';
import { hasTraceContext, mapGetter } from '../../lib/tracing/carriers.ts';
import type { HeaderGetter } from '../../lib/tracing/types.ts';

export function checkTraceParent(
  call: HeaderGetter,
  bag: ReadonlyMap<string, Value>,
): HeaderGetter | undefined {
  if (hasTraceContext(call)) return call;
  const headers = bag.get('request.headers');
  if (!(headers instanceof Map)) return undefined;
  const get = mapGetter(headers as ReadonlyMap<string, string>);
  return hasTraceContext(get) ? get : undefined;
}

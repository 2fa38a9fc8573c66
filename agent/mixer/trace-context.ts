/**
 * Where an ext_authz check's trace context is: the gRPC metadata of Envoy's call (`call`) (with a traced
 * HTTP connection manager, Envoy's ext_authz client passes its own span's context there), else
 * the checked request's headers in the CheckRequest (a caller's `x-b3-*`, `b3` or
 * `traceparent`). docs/reference/tracing.md, "Envoy".
 */
import { hasTraceContext, recordGetter } from '../../lib/tracing/carriers.ts';
import type { HeaderGetter } from '../../lib/tracing/types.ts';
import { msg } from '../wire/decode.ts';

export function checkTraceParent(
  call: HeaderGetter,
  request: Record<string, unknown>,
): HeaderGetter | undefined {
  if (hasTraceContext(call)) return call;
  const http = msg(msg(msg(request['attributes'])['request'])['http']);
  const headers = recordGetter(msg(http['headers']));
  return hasTraceContext(headers) ? headers : undefined;
}

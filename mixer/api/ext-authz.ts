/**
 * `envoy.service.auth.v3.Authorization/Check` for Envoy's ext_authz filters (HTTP and network):
 * the request's attributes (lib/mixer/envoy-attributes.ts) go through the same check as Mixer v1.
 * OK allows; anything else denies, with an HTTP status that says why (403 for denials and
 * whitelist misses, 429 for exhausted quota, 401, 503) and a body `CODE:message` as Istio printed.
 */
import { attributesFromAuthz } from '../../lib/mixer/envoy-attributes.ts';
import { Code, codeNames } from '../adapter.ts';
import type { MixerCore } from '../core.ts';

const httpStatus: ReadonlyMap<number, number> = new Map([
  [Code.UNAUTHENTICATED, 401],
  [Code.RESOURCE_EXHAUSTED, 429],
  [Code.UNAVAILABLE, 503],
  [Code.INVALID_ARGUMENT, 400],
  [Code.INTERNAL, 500],
]);

export interface AuthzResponse {
  readonly status: { code: number; message: string };
  readonly denied_response?: { status: { code: number }; body: string; headers: object[] };
  readonly ok_response?: Record<string, never>;
}

export async function authzCheck(core: MixerCore, request: unknown): Promise<AuthzResponse> {
  const bag = attributesFromAuthz(request);
  const out = await core.check('ext_authz', bag, new Map(), '');
  if (out.status.code === Code.OK) return { status: out.status, ok_response: {} };
  const name = codeNames.get(out.status.code) ?? String(out.status.code);
  const isHttp =
    (request as { attributes?: { request?: { http?: unknown } } }).attributes?.request?.http !==
    undefined;
  const response: AuthzResponse = { status: out.status };
  if (!isHttp) return response;
  return {
    ...response,
    denied_response: {
      status: { code: httpStatus.get(out.status.code) ?? 403 },
      body: `${name}:${out.status.message}`,
      headers: [{ header: { key: 'content-type', value: 'text/plain' } }],
    },
  };
}

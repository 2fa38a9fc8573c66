/**
 * What a failed Kubernetes API call says, read the same way whether the call went through
 * @kubernetes/client-node (its `ApiException`: `code`, `body`, `headers`; a Watch error's
 * `statusCode`) or through lib/kube/http.ts (`KubeApiError`, the same fields). Nothing here loads
 * client-node: Pilot reads the API server without it.
 */
import { errorMessage } from '../errors.ts';

/** An error carrying an HTTP status and the response body (ApiException, KubeApiError). */
interface ApiFailure {
  readonly code: number;
  readonly body: unknown;
}

function isApiFailure(e: unknown): e is Error & ApiFailure {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'number' && 'body' in e;
}

/** The HTTP status of a failed API call (`code`, or a watch error's `statusCode`), else undefined. */
export function apiErrorCode(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null) {
    const r = e as { code?: unknown; statusCode?: unknown };
    if (typeof r.code === 'number') return r.code;
    if (typeof r.statusCode === 'number') return r.statusCode;
  }
  return undefined;
}

export function isNotFound(e: unknown): boolean {
  return apiErrorCode(e) === 404;
}

/** 409 from a write whose resourceVersion is stale (retry after a fresh read); not AlreadyExists. */
export function isConflict(e: unknown): boolean {
  return apiErrorCode(e) === 409 && apiErrorReason(e) !== 'AlreadyExists';
}

/** 409 with reason AlreadyExists: a create of an object that exists. */
export function isAlreadyExists(e: unknown): boolean {
  return apiErrorCode(e) === 409 && apiErrorReason(e) === 'AlreadyExists';
}

/** The Status object in a failed API call's body, when it has one. */
function apiErrorStatus(e: unknown): { reason?: unknown; message?: unknown } | undefined {
  if (!isApiFailure(e)) return undefined;
  const body: unknown = e.body;
  let status: unknown = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return typeof status === 'object' && status !== null ? status : undefined;
}

/** The `reason` of the Status in a failed API call's body (`NotFound`, `AlreadyExists`, …). */
export function apiErrorReason(e: unknown): string | undefined {
  const reason = apiErrorStatus(e)?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

/**
 * A failed API call in one short line: `HTTP 429 TooManyRequests: storage is (re)initializing`.
 * client-node's own message carries the whole body and every response header.
 */
export function describeApiError(e: unknown): string {
  if (!isApiFailure(e)) return errorMessage(e);
  const status = apiErrorStatus(e);
  const reason = typeof status?.reason === 'string' ? ` ${status.reason}` : '';
  const message = typeof status?.message === 'string' ? status.message : undefined;
  const text = message ?? (typeof e.body === 'string' && e.body !== '' ? e.body : undefined);
  return `HTTP ${String(e.code)}${reason}${text === undefined ? '' : `: ${text.slice(0, 300)}`}`;
}

/** 429 (the server asks to come back later, e.g. while a new resource's storage initialises) or 503. */
export function isRetryLater(e: unknown): boolean {
  const code = apiErrorCode(e);
  return code === 429 || code === 503;
}

/**
 * The one way a registry reads its server: a GET with plain `fetch`, a deadline, and errors that
 * say which registry, which URL and what was wrong (`Consul http://consul:8500/v1/catalog/services:
 * HTTP 500: ...`). The body comes back as parsed JSON, still `unknown`: each registry's wire parser
 * narrows it field by field.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';

/** A registry request that failed: unreachable, too slow, an HTTP error, or a body it cannot use. */
export class RegistryError extends IstioLiteError {
  constructor(registry: string, url: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.External, `${registry} ${url}: ${message}`, options);
    this.name = 'RegistryError';
  }
}

export interface JsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

export interface GetJsonOptions {
  /** Names the registry in errors (`Consul`). */
  readonly registry: string;
  /** How long the whole request (headers and body) may take. */
  readonly timeoutMs: number;
  /** Aborted when the registry stops. */
  readonly signal: AbortSignal;
  /** Statuses returned to the caller instead of thrown (Eureka's 404 while it looks for its path). */
  readonly allowStatus?: readonly number[];
}

/** The first characters of a body, on one line, for an error message. */
function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

/** Why fetch failed, without undici's generic "fetch failed". */
function describeFailure(e: unknown, timeoutMs: number): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return `no answer within ${String(timeoutMs / 1000)} s`;
  }
  if (e instanceof Error) {
    const cause: unknown = e.cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      return typeof code === 'string'
        ? `cannot connect (${code}: ${cause.message})`
        : cause.message;
    }
    return e.message;
  }
  return String(e);
}

export async function getJson(url: string, o: GetJsonOptions): Promise<JsonResponse> {
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const signal = AbortSignal.any([o.signal, deadline]);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal });
    text = await res.text();
  } catch (e) {
    if (o.signal.aborted) throw new RegistryError(o.registry, url, 'stopped', { cause: e });
    const why = deadline.aborted
      ? `no answer within ${String(o.timeoutMs / 1000)} s`
      : describeFailure(e, o.timeoutMs);
    throw new RegistryError(o.registry, url, why, { cause: e });
  }
  if (o.allowStatus?.includes(res.status) === true) {
    return { status: res.status, headers: res.headers, body: undefined };
  }
  if (res.status < 200 || res.status > 299) {
    throw new RegistryError(o.registry, url, `HTTP ${String(res.status)}: ${snippet(text)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const type = res.headers.get('content-type') ?? 'no content type';
    throw new RegistryError(
      o.registry,
      url,
      `the answer is not JSON (${type}): ${snippet(text) || '(empty)'}`,
    );
  }
  return { status: res.status, headers: res.headers, body };
}

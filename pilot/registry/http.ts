/**
 * The one way a registry reads its server: a GET with plain `fetch`, a deadline, and errors that
 * say which registry, which URL and what was wrong (`Consul http://consul:8500/v1/catalog/services:
 * HTTP 500: ...`). The body comes back as parsed JSON, still `unknown`: each registry's wire parser
 * narrows it field by field. A registry that must bound its connections to the server (Consul's
 * `limits.http_max_conns_per_client`) passes its own keep-alive `agent` (`maxSockets`): the GET then
 * goes through node:http, whose agent never opens more sockets than that (fetch's pool opens a new
 * one whenever none is free at that instant, so it can hold more than the requests in flight).
 */
import { Agent as HttpAgent, request as httpRequest, type Agent } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
  /** Sends the GET through node:http(s) with this agent (its `maxSockets` bounds connections). */
  readonly agent?: Agent;
}

/** A keep-alive agent for `url`'s scheme holding at most `maxSockets` connections to a host. */
export function boundedAgent(url: string, maxSockets: number): Agent {
  const o = { keepAlive: true, maxSockets, maxTotalSockets: maxSockets };
  return url.startsWith('https:') ? new HttpsAgent(o) : new HttpAgent(o);
}

interface TextResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function fetchText(url: string, signal: AbortSignal): Promise<TextResponse> {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/**
 * A GET through `agent`. A kept-alive socket the server closed just as it was reused fails with
 * ECONNRESET before anything was sent: that one is tried again on a new socket (as Node's docs
 * advise).
 */
function agentText(
  url: string,
  agent: Agent,
  signal: AbortSignal,
  retried = false,
): Promise<TextResponse> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { agent, signal, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error('the connection closed before the answer ended'));
      });
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        }
        resolve({
          status: res.statusCode ?? 0,
          headers,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.on('error', (e: Error & { code?: string }) => {
      if (!retried && req.reusedSocket && e.code === 'ECONNRESET' && !signal.aborted) {
        agentText(url, agent, signal, true).then(resolve, reject);
      } else {
        reject(e);
      }
    });
    req.end();
  });
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
    const own = (e as { code?: unknown }).code;
    if (typeof own === 'string' && own.startsWith('E'))
      return `cannot connect (${own}: ${e.message})`;
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
  let res: TextResponse;
  try {
    res = await (o.agent === undefined ? fetchText(url, signal) : agentText(url, o.agent, signal));
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
    throw new RegistryError(o.registry, url, `HTTP ${String(res.status)}: ${snippet(res.text)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    const type = res.headers.get('content-type') ?? 'no content type';
    throw new RegistryError(
      o.registry,
      url,
      `the answer is not JSON (${type}): ${snippet(res.text) || '(empty)'}`,
    );
  }
  return { status: res.status, headers: res.headers, body };
}

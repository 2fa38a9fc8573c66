/**
 * JSON requests, lists and watches against the API server over node:https (keep-alive), with
 * lib/kube/credentials.ts's `KubeCredentials` (or a client-node `KubeConfig`): what a process
 * that only lists, watches and patches needs, without @kubernetes/client-node. Objects stay the
 * JSON the server sent (no model classes, no Date objects).
 *
 * A failed call throws `KubeApiError` (`code`: the HTTP status, `body`: the response text), which
 * lib/kube/api-errors.ts reads like client-node's ApiException. `watch` behaves as client-node's
 * Watch, which lib/kube/informer.ts was written against: it resolves once the response headers
 * are in (with a controller that is aborted when the watch ends), reports the end through `done`
 * exactly once (a status other than 200 as a KubeApiError), and ends a watch that stays silent
 * for 30 s with a TimeoutError.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import type { KubeCredentials } from './credentials.ts';

export class KubeApiError extends Error {
  readonly code: number;
  readonly body: string;

  constructor(method: string, path: string, code: number, body: string) {
    super(`${method} ${path}: HTTP ${String(code)}`);
    this.name = 'KubeApiError';
    this.code = code;
    this.body = body;
  }
}

/** What a list returns: the items and the list's resourceVersion. */
export interface KubeList<T> {
  readonly items: T[];
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
}

/** Objects a page when an informer lists through this client (client-go's reflector: 500). */
export const ListPageSize = 500;

export interface WatchTransport {
  watch(
    path: string,
    params: Readonly<Record<string, string | boolean>>,
    onEvent: (type: string, object: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

export interface KubeHttpOptions {
  /** Longest a request (not a watch) may take (default 60 s). */
  readonly timeoutMs?: number;
  /** A watch silent this long is ended with a TimeoutError (default 30 s, as client-node). */
  readonly watchIdleMs?: number;
}

function timeoutError(): Error {
  const e = new Error('the watch was silent too long');
  e.name = 'TimeoutError';
  return e;
}

export class KubeHttp implements WatchTransport {
  private readonly creds: KubeCredentials;
  private readonly timeoutMs: number;
  private readonly watchIdleMs: number;
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });
  private readonly httpAgent = new HttpAgent({ keepAlive: true });

  constructor(creds: KubeCredentials, o: KubeHttpOptions = {}) {
    this.creds = creds;
    this.timeoutMs = o.timeoutMs ?? 60_000;
    this.watchIdleMs = o.watchIdleMs ?? 30_000;
  }

  private url(path: string): URL {
    const server = this.creds.getCurrentCluster()?.server;
    if (server === undefined) {
      throw new IstioLiteError(ErrorCode.InvalidConfig, 'kubeconfig has no current cluster');
    }
    return new URL(server.replace(/\/+$/, '') + path);
  }

  private async open(
    method: string,
    url: URL,
    headers: Record<string, string>,
  ): Promise<{ send: typeof httpsRequest; opts: RequestOptions }> {
    const https = url.protocol === 'https:';
    const opts: RequestOptions = {
      method,
      headers: { Accept: 'application/json', ...headers },
      agent: https ? this.httpsAgent : this.httpAgent,
    };
    await this.creds.applyToHTTPSOptions(opts);
    return { send: https ? httpsRequest : httpRequest, opts };
  }

  /** One request; the status and body whatever the status. */
  async request(
    method: string,
    path: string,
    body?: string,
    contentType = 'application/json',
  ): Promise<{ readonly status: number; readonly body: string }> {
    const url = this.url(path);
    const { send, opts } = await this.open(
      method,
      url,
      body === undefined ? {} : { 'Content-Type': contentType },
    );
    // A keep-alive socket keeps this response's listeners (and through them this promise and
    // what it resolved to) until its next request: the answer is taken out of the box it came
    // in, so a list's body (megabytes) is not kept with them.
    const box = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = send(url, { ...opts, timeout: this.timeoutMs }, (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const body = text;
          text = '';
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => {
        req.destroy(new Error(`no answer within ${String(this.timeoutMs / 1000)} s`));
      });
      req.on('error', (e) => {
        reject(
          new IstioLiteError(ErrorCode.External, `${method} ${path}: ${e.message}`, { cause: e }),
        );
      });
      req.end(body);
    });
    const answer = { status: box.status, body: box.body };
    box.body = '';
    return answer;
  }

  /** A request whose answer must be 2xx JSON; throws KubeApiError otherwise. */
  async json(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
    const res = await this.request(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      contentType,
    );
    if (res.status < 200 || res.status >= 300) {
      throw new KubeApiError(method, path, res.status, res.body);
    }
    return res.body === '' ? undefined : (JSON.parse(res.body) as unknown);
  }

  /** Lists a collection (`/api/v1/services`), with the informer's selectors. */
  async list<T>(
    path: string,
    o: {
      readonly labelSelector?: string;
      readonly fieldSelector?: string;
      readonly limit?: number;
      readonly continue?: string;
    } = {},
  ): Promise<KubeList<T>> {
    const q = new URLSearchParams();
    if (o.labelSelector !== undefined) q.set('labelSelector', o.labelSelector);
    if (o.fieldSelector !== undefined) q.set('fieldSelector', o.fieldSelector);
    if (o.limit !== undefined) q.set('limit', String(o.limit));
    if (o.continue !== undefined) q.set('continue', o.continue);
    const qs = q.toString();
    const v = await this.json('GET', qs === '' ? path : `${path}?${qs}`);
    const items = (v as { items?: unknown } | undefined)?.items;
    if (!Array.isArray(items)) {
      throw new IstioLiteError(ErrorCode.External, `list ${path}: the response has no items`);
    }
    return v as KubeList<T>;
  }

  async watch(
    path: string,
    params: Readonly<Record<string, string | boolean>>,
    onEvent: (type: string, object: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const url = this.url(path);
    url.searchParams.set('watch', 'true');
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
    const controller = new AbortController();
    let finished = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      controller.abort();
      done(err);
    };
    const { send, opts } = await this.open('GET', url, {});
    return new Promise((resolve) => {
      const req = send(url, { ...opts, signal: controller.signal });
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          finish(timeoutError());
          req.destroy();
        }, this.watchIdleMs);
        idle.unref();
      };
      arm();
      req.on('error', (e) => {
        finish(e);
        resolve(controller);
      });
      req.on('response', (res: IncomingMessage) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          // As client-node: the watch has ended (done called) before the caller gets it back.
          let text = '';
          res.on('data', (c: string) => (text += c));
          const failed = (e: unknown) => {
            finish(e);
            resolve(controller);
          };
          res.on('end', () => {
            failed(new KubeApiError('WATCH', path, res.statusCode ?? 0, text));
          });
          res.on('error', failed);
          return;
        }
        arm();
        let buffered = '';
        res.on('data', (chunk: string) => {
          arm();
          buffered += chunk;
          let nl = buffered.indexOf('\n');
          while (nl >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.trim() !== '') {
              let ev: { type?: unknown; object?: unknown } | undefined;
              try {
                ev = JSON.parse(line) as { type?: unknown; object?: unknown };
              } catch {
                ev = undefined; // as client-node: a line that is not JSON is skipped
              }
              if (ev && typeof ev.type === 'string' && !finished) onEvent(ev.type, ev.object);
            }
            nl = buffered.indexOf('\n');
          }
        });
        res.on('end', () => {
          finish(null);
        });
        res.on('error', (e) => {
          finish(e);
        });
        res.on('close', () => {
          finish(null);
        });
        resolve(controller);
      });
      req.end();
    });
  }
}

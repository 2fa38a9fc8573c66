/**
 * The operations endpoints every server has: `/healthz` (the process is alive), `/ready` (it can
 * serve: caches synced, first config built) and Prometheus `/metrics`, answered by a plain
 * node:http request listener (no express: loading express costs a server about 0.2 s of start-up,
 * and Pilot's /ready waits for its start). A server with pages of its own adds them as `extra`
 * (Pilot's /debug/*). lib/ops-express.ts mounts the same answers on an express app.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  /** Why the server is not ready yet, or undefined when ready. */
  (): string | undefined;
}

/** Lines `/ready` adds below `ready` while ready: what works in a degraded way. */
export type ReadinessNotes = () => readonly string[];

/** A page's answer, sent as JSON. */
export interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A server's own GET pages: the answer for a path and query, undefined when it has none. */
export type ExtraPages = (path: string, query: URLSearchParams) => JsonAnswer | undefined;

export interface TextAnswer {
  readonly status: number;
  readonly text: string;
}

export function healthzAnswer(): TextAnswer {
  return { status: 200, text: 'ok\n' };
}

export function readyAnswer(ready: ReadinessCheck, notes?: ReadinessNotes): TextAnswer {
  const why = ready();
  if (why !== undefined) return { status: 503, text: `not ready: ${why}\n` };
  const lines = notes?.() ?? [];
  return { status: 200, text: ['ready', ...lines].map((l) => `${l}\n`).join('') };
}

const textType = 'text/plain; charset=utf-8';

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean) {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}

/** The request listener: the three endpoints, then `extra`'s pages; GET and HEAD only. */
export function opsHandler(
  registry: Registry,
  ready: ReadinessCheck,
  notes?: ReadinessNotes,
  extra?: ExtraPages,
): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    try {
      answer(req, res);
    } catch (e) {
      // A page that throws answers 500; the server goes on.
      if (!res.headersSent) send(res, 500, textType, `internal error: ${String(e)}\n`, false);
      else res.destroy();
    }
  };

  function answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://ops');
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, textType, `${req.method ?? ''} is not allowed here (GET, HEAD)\n`, false);
      return;
    }
    const text = (a: TextAnswer) => {
      send(res, a.status, textType, a.text, head);
    };
    switch (url.pathname) {
      case '/healthz':
        text(healthzAnswer());
        return;
      case '/ready':
        text(readyAnswer(ready, notes));
        return;
      case '/metrics':
        registry.metrics().then(
          (body) => {
            send(res, 200, registry.contentType, body, head);
          },
          (e: unknown) => {
            text({ status: 500, text: `metrics unavailable: ${String(e)}\n` });
          },
        );
        return;
    }
    const page = extra?.(url.pathname, url.searchParams);
    if (page === undefined) {
      text({ status: 404, text: `no page ${url.pathname}\n` });
      return;
    }
    send(res, page.status, 'application/json; charset=utf-8', JSON.stringify(page.body), head);
  }
}

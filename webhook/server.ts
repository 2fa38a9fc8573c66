/**
 * The webhook's HTTPS server: `POST /inject` (AdmissionReview v1, parsed by admission-review.ts)
 * handed to an AdmissionHandler (admission-handler.ts), plus `/healthz`, `/ready` and `/metrics`.
 * Transport only: it knows nothing of injection, decisions or their metrics. Bad bodies get a 4xx
 * with a message (and the handler is told of them); nothing a client sends can take the process
 * down. The serving certificate comes from a TlsSource the server subscribes to: each new pair is
 * used by new connections, open ones are undisturbed. What the API server sends (a plain JSON body
 * to `/inject`) is read without express (plain-json.ts); everything else goes through express.
 */
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import express, { type NextFunction, type Request, type Response } from 'express';
import { errorMessage } from '../lib/errors.ts';
import { listenOn } from '../lib/listen.ts';
import type { Logger } from '../lib/log.ts';
import type { Registry } from '../lib/metrics.ts';
import { mountOps } from '../lib/ops-express.ts';
import type { ReadinessCheck } from '../lib/ops-server.ts';
import type { AdmissionHandler } from './admission-handler.ts';
import { admissionResponseText, parseAdmissionReview } from './admission-review.ts';
import { isPlainJsonPost, readPlainJson } from './plain-json.ts';
import type { TlsMaterial, TlsSource } from './tls-source.ts';

export interface WebhookServerOptions {
  readonly handler: AdmissionHandler;
  /** The serving key and certificate; the server follows its changes until closed. */
  readonly tls: TlsSource;
  /** Served on `/metrics`. */
  readonly registry: Registry;
  readonly logger: Logger;
  readonly ready: ReadinessCheck;
  /** Largest accepted body, bytes (default 6 MiB: an object and its old copy). */
  readonly bodyLimitBytes?: number;
}

export interface WebhookServer {
  readonly server: Server;
  readonly port: number;
  /** Stops following the TlsSource, stops accepting, lets in-flight requests finish, closes idle keep-alive connections. */
  close(): Promise<void>;
}

interface HttpError {
  status?: number;
  type?: string;
}

function httpError(e: unknown): HttpError {
  if (typeof e !== 'object' || e === null) return {};
  const out: HttpError = {};
  if ('status' in e && typeof e.status === 'number') out.status = e.status;
  if ('type' in e && typeof e.type === 'string') out.type = e.type;
  return out;
}

export async function startWebhookServer(
  opts: WebhookServerOptions,
  port: number,
  host = '0.0.0.0',
): Promise<WebhookServer> {
  const { handler, logger } = opts;
  const app = express();
  app.disable('x-powered-by');
  mountOps(app, opts.registry, opts.ready);

  const reject = (res: ServerResponse, status: number, message: string, started: bigint) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    try {
      handler.rejected?.({ status, message, seconds });
    } catch (e) {
      logger.error({ err: e }, 'admission handler failed on a rejected request');
    }
    logger.warn({ status, message }, 'bad admission request');
    send(res, status, 'text/plain; charset=utf-8', `${message}\n`);
  };

  /** Parses the review, asks the handler, answers: the same for both routes. */
  const answer = (res: ServerResponse, body: unknown, started: bigint) => {
    const parsed = parseAdmissionReview(body);
    if (!parsed.ok) {
      reject(res, parsed.status, parsed.message, started);
      return;
    }
    const r = parsed.request;
    const json = (text: string) => {
      send(res, 200, 'application/json; charset=utf-8', text);
    };
    // A synchronous throw in admit is a rejection like any other.
    Promise.resolve()
      .then(() => handler.admit(r, { log: logger, receivedAt: started }))
      .then(
        (outcome) => {
          json(admissionResponseText(r.uid, outcome));
        },
        (e: unknown) => {
          // The handler maps its own errors; this is a last resort that still answers.
          logger.error(
            { err: e, uid: r.uid, namespace: r.namespace, name: r.name },
            'admission handler threw',
          );
          json(
            admissionResponseText(r.uid, {
              allowed: false,
              code: 500,
              message: `istio-lite sidecar injection failed: ${errorMessage(e)}`,
              warnings: [],
            }),
          );
        },
      );
  };

  app.post(
    '/inject',
    (req, _res, next) => {
      timing(req).started = process.hrtime.bigint();
      next();
    },
    express.json({ limit: opts.bodyLimitBytes ?? defaultBodyLimit, strict: false }),
    (req: Request, res: Response) => {
      const started = timing(req).started ?? process.hrtime.bigint();
      if (!req.is('application/json')) {
        reject(res, 415, 'Content-Type must be application/json', started);
        return;
      }
      answer(res, req.body as unknown, started);
    },
  );

  app.use((e: unknown, req: Request, res: Response, _next: NextFunction) => {
    const started = timing(req).started ?? process.hrtime.bigint();
    const { status, type } = httpError(e);
    if (type === 'entity.too.large')
      reject(res, 413, `body over the limit: ${errorMessage(e)}`, started);
    else if (type === 'entity.parse.failed')
      reject(res, 400, `body is not valid JSON: ${errorMessage(e)}`, started);
    else if (status !== undefined && status >= 400 && status < 500)
      reject(res, status, errorMessage(e), started);
    else {
      logger.error({ err: e }, 'request failed');
      res.status(500).type('text/plain').send('internal error\n');
    }
  });

  const context = (tls: TlsMaterial) => ({
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.2' as const,
  });
  const limit = opts.bodyLimitBytes ?? defaultBodyLimit;
  const server = createServer(context(opts.tls.current()), (req, res) => {
    if (!isPlainJsonPost(req, limit)) {
      app(req, res);
      return;
    }
    const started = process.hrtime.bigint();
    readPlainJson(req, (r) => {
      if (r.ok) answer(res, r.body, started);
      else reject(res, 400, r.message, started);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (err, socket) => {
    logger.debug({ err }, 'client error');
    socket.destroy();
  });
  // Subscribed before listening, so a pair published meanwhile is not missed.
  const unsubscribe = opts.tls.subscribe((tls) => {
    try {
      server.setSecureContext(context(tls));
    } catch (e) {
      logger.error({ error: errorMessage(e) }, 'serving certificate not usable; keeping the last');
    }
  });
  let bound: number;
  try {
    bound = await listenOn(server, port, host);
  } catch (e) {
    unsubscribe();
    throw e;
  }
  return {
    server,
    port: bound,
    close() {
      unsubscribe();
      return new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}

const defaultBodyLimit = 6 * 1024 * 1024;

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const locals = new WeakMap<Request, { started?: bigint }>();
function timing(req: Request): { started?: bigint } {
  let v = locals.get(req);
  if (v === undefined) {
    v = {};
    locals.set(req, v);
  }
  return v;
}

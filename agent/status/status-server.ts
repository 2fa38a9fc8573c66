/**
 * The agent's HTTP ports, on node:http (no framework: the agent's memory budget is small).
 * - Status, 15020: `/app-health/<container>/readyz|livez|startupz` runs the original application
 *   probe and answers 200 or 503 with what happened; `/healthz` (the agent is alive),
 *   `/healthz/ready` and `/ready` (the agent's readiness), `/metrics` (the agent's Prometheus).
 * - Readiness, 15021: `/healthz/ready`, 200 only when every readiness check passes.
 * Anything else is 404. Only GET and HEAD.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOn } from '../../lib/listen.ts';
import type { Logger } from '../../lib/log.ts';
import { Counter, type Registry } from '../../lib/metrics.ts';
import type { AppProbers } from './probers.ts';
import { runProbe, type ProbeResult } from './probe-runner.ts';
import type { Readiness } from './readiness.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function send(res: ServerResponse, code: number, body: string, type = 'text/plain'): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readyHandler(readiness: Readiness): Handler {
  return (_req, res) => {
    const reasons = readiness.reasons();
    if (reasons.length === 0) send(res, 200, 'ready\n');
    else send(res, 503, `not ready:\n${reasons.map((r) => `  ${r}\n`).join('')}`);
  };
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function guard(
  routes: ReadonlyMap<string, Handler>,
  fallback?: (path: string) => Handler | undefined,
): Handler {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n');
      return;
    }
    const path = pathOf(req);
    const h = routes.get(path) ?? fallback?.(path);
    if (h) h(req, res);
    else send(res, 404, 'not found\n');
  };
}

export interface StatusServerOptions {
  readonly probers: AppProbers;
  /** Where the application listens (the pod IP; loopback in tests). */
  readonly appHost: string;
  readonly readiness: Readiness;
  readonly metrics: Registry;
  readonly logger: Logger;
}

/** The 15020 handler. */
export function statusHandler(o: StatusServerOptions): Handler {
  const probes = new Counter({
    name: 'istio_agent_app_probes_total',
    help: 'application probes run for the kubelet, by probe path and result',
    labelNames: ['probe', 'result'],
    registers: [o.metrics],
  });
  const last = new Map<string, boolean>();
  const routes = new Map<string, Handler>([
    [
      '/healthz',
      (_q, res) => {
        send(res, 200, 'ok\n');
      },
    ],
    ['/healthz/ready', readyHandler(o.readiness)],
    ['/ready', readyHandler(o.readiness)],
    [
      '/metrics',
      (_q, res) => {
        o.metrics.metrics().then(
          (body) => {
            send(res, 200, body, o.metrics.contentType);
          },
          (e: unknown) => {
            send(res, 500, String(e));
          },
        );
      },
    ],
  ]);
  const probe = (path: string): Handler | undefined => {
    const p = o.probers.get(path);
    if (p === undefined) return undefined;
    return (_q, res) => {
      void runProbe(p, o.appHost).then((r: ProbeResult) => {
        probes.inc({ probe: path, result: r.ok ? 'success' : 'failure' });
        if (last.get(path) !== r.ok) {
          o.logger.info({ probe: path, ok: r.ok, detail: r.detail }, 'application probe changed');
          last.set(path, r.ok);
        }
        send(res, r.ok ? 200 : 503, `${r.detail}\n`);
      });
    };
  };
  return guard(routes, probe);
}

/** The 15021 handler. */
export function readinessHandler(readiness: Readiness): Handler {
  return guard(new Map([['/healthz/ready', readyHandler(readiness)]]));
}

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on host:port (0 picks one). */
export async function listenHttp(
  handler: Handler,
  host: string,
  port: number,
): Promise<HttpListener> {
  const server: Server = createServer(handler);
  server.keepAliveTimeout = 5000;
  const bound = await listenOn(server, port, host);
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

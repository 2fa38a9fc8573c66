/**
 * The operations endpoints every server has: `/healthz` (the process is alive), `/ready` (it can
 * serve: caches synced, first config built) and Prometheus `/metrics`. Mount on the server's own
 * express app, or run standalone on a monitoring port.
 */
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  /** Why the server is not ready yet, or undefined when ready. */
  (): string | undefined;
}

/** Lines `/ready` adds below `ready` while ready: what works in a degraded way. */
export type ReadinessNotes = () => readonly string[];

export function mountOps(
  app: Express,
  registry: Registry,
  ready: ReadinessCheck,
  notes?: ReadinessNotes,
): void {
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/ready', (_req, res) => {
    const why = ready();
    if (why === undefined) {
      const lines = notes?.() ?? [];
      res.type('text/plain').send(['ready', ...lines].map((l) => `${l}\n`).join(''));
    } else res.status(503).type('text/plain').send(`not ready: ${why}\n`);
  });
  app.get('/metrics', (_req, res, next) => {
    registry.metrics().then((body) => {
      res.type(registry.contentType).send(body);
    }, next);
  });
}

export function opsApp(registry: Registry, ready: ReadinessCheck, notes?: ReadinessNotes): Express {
  const app = express();
  app.disable('x-powered-by');
  mountOps(app, registry, ready, notes);
  return app;
}

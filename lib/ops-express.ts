/**
 * lib/ops-server.ts's endpoints on an express app, for the servers that are express apps anyway
 * (the webhook's HTTPS server, the dashboard).
 */
import express, { type Express, type Response } from 'express';
import type { Registry } from 'prom-client';
import {
  healthzAnswer,
  readyAnswer,
  type ReadinessCheck,
  type ReadinessNotes,
  type TextAnswer,
} from './ops-server.ts';

function reply(res: Response, a: TextAnswer): void {
  res.status(a.status).type('text/plain').send(a.text);
}

export function mountOps(
  app: Express,
  registry: Registry,
  ready: ReadinessCheck,
  notes?: ReadinessNotes,
): void {
  app.get('/healthz', (_req, res) => {
    reply(res, healthzAnswer());
  });
  app.get('/ready', (_req, res) => {
    reply(res, readyAnswer(ready, notes));
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

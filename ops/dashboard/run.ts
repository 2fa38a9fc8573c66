/**
 * The dashboard server: one HTTP port with the page (static/: hand-written HTML, CSS and JS, no
 * CDN, so it works without the internet), `/api/state` (collector.ts), and the ops endpoints
 * (`/healthz`, `/ready` once the first collection is done, `/metrics`). Started on a Lifecycle
 * like every service; SIGTERM stops the collector and the server.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { closeHttpServer, listenOn } from '../../lib/listen.ts';
import type { Logger } from '../../lib/log.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { opsApp } from '../../lib/ops-express.ts';
import type { ControlPlane } from '../control-plane.ts';
import { Collector } from './collector.ts';
import type { MetricsSource } from './metrics-source.ts';

export interface DashboardOptions {
  readonly port: number;
  readonly address: string;
  readonly intervalMs: number;
  readonly plane: ControlPlane;
  readonly metrics: MetricsSource;
  readonly logger: Logger;
}

export interface RunningDashboard {
  readonly port: number;
  readonly collector: Collector;
}

/** The page's files: next to this module in the source tree; from dist/, the source tree's copy. */
function staticDir(): string {
  for (const rel of ['./static', '../../../ops/dashboard/static']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('ops/dashboard/static not found');
}

export function runDashboard(
  o: DashboardOptions,
): Promise<RunningDashboard & { close(): Promise<void> }> {
  return Lifecycle.start(o.logger, async (life) => {
    const registry = createRegistry('dashboard');
    const collector = new Collector({
      plane: o.plane,
      metrics: o.metrics,
      intervalMs: o.intervalMs,
      logger: o.logger,
      registry,
    });
    collector.start();
    life.add('collector', collector, (c) => c.stop());
    const app = opsApp(registry, () => collector.notReady());
    app.get('/api/state', (_req, res) => {
      const s = collector.state();
      if (s) res.set('cache-control', 'no-store').json(s);
      else res.status(503).json({ error: collector.notReady() });
    });
    app.use(express.static(staticDir(), { index: 'index.html', maxAge: 0 }));
    const server = life.add('HTTP server', createServer(app), closeHttpServer);
    const port = await listenOn(server, o.port, o.address);
    o.logger.info(
      { address: o.address, port, metrics: o.metrics.describe, pilot: o.plane.source },
      'dashboard serving',
    );
    return { port, collector };
  });
}

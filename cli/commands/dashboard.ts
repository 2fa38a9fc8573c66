/**
 * `istio-lite dashboard`: the mesh dashboard (ops/dashboard): the service graph from Mixer's
 * metrics, RouteRules and whether they applied, every proxy's sync status.
 */
import { createLogger } from '../../lib/log.ts';
import { planeFrom, planeNotes } from '../../ops/plane-options.ts';
import { mixerMetrics, prometheusMetrics } from '../../ops/dashboard/metrics-source.ts';
import { runDashboard } from '../../ops/dashboard/run.ts';
import { dashboardOptions } from '../../ops/dashboard/settings.ts';
import { defineCommand } from '../command.ts';
import { serve } from '../serve.ts';

export const dashboard = defineCommand({
  name: 'dashboard',
  summary:
    'Serve the mesh dashboard: service graph, RouteRules and their status, proxy sync status.',
  usage:
    'dashboard [--port 8088] [--address 127.0.0.1] [--prometheus URL] [--xdsAddress HOST:PORT | -i NS]',
  options: dashboardOptions,
  notes: [
    'Open http://127.0.0.1:8088/. The graph comes from the request_count and request_duration',
    "metrics of Mixer's prometheus handler (mixer/examples/telemetry.yaml), read from every Mixer",
    "replica's /metrics, or from --prometheus. /healthz, /ready and /metrics are on the same port.",
    planeNotes,
  ].join('\n'),
  async run(v, _positionals, io) {
    const plane = planeFrom(v, io);
    const logger = createLogger('dashboard');
    const metrics =
      v.prometheus === undefined ? mixerMetrics(plane) : prometheusMetrics(v.prometheus);
    return serve(logger, async () => {
      const d = await runDashboard({
        port: v.port,
        address: v.address,
        intervalMs: v.interval,
        plane,
        metrics,
        logger,
      });
      io.stderr.write(
        `dashboard on http://${v.address.includes(':') ? `[${v.address}]` : v.address}:${String(d.port)}/\n`,
      );
      return d;
    });
  },
});

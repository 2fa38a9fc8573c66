/**
 * What the dashboard shows, gathered every interval: the service graph from Mixer's metrics
 * (graph.ts), each service's RouteRules with whether they applied (Pilot's `/debug/configz`), and
 * every proxy's sync status (every Pilot replica's `/debug/proxy_status`). A source that fails is
 * a line in `problems`; what the others gave is still shown.
 */
import { FieldReader } from '../../lib/config/field-reader.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { Counter, Histogram, type Registry } from '../../lib/metrics.ts';
import type { ProxySync } from '../../lib/xds/debug-pages.ts';
import { readPage, type ControlPlane } from '../control-plane.ts';
import { collectProxyStatus } from '../proxy-status.ts';
import { buildGraph, observe, type Graph, type Observation } from './graph.ts';
import type { MetricsSource } from './metrics-source.ts';

export interface RuleView {
  readonly namespace: string;
  readonly name: string;
  readonly precedence: number | null;
  readonly applied: boolean;
  readonly reason: string | null;
  readonly message: string | null;
}

export interface DashboardState {
  readonly updatedAt: string;
  readonly graph: Graph;
  /** RouteRules by destination hostname; rules Pilot could not read at all under ''. */
  readonly rules: Readonly<Record<string, readonly RuleView[]>>;
  readonly proxies: readonly ProxySync[];
  readonly pilots: readonly string[];
  readonly sources: { readonly metrics: string; readonly pilot: string };
  readonly problems: readonly string[];
}

export interface CollectorOptions {
  readonly plane: ControlPlane;
  readonly metrics: MetricsSource;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly registry: Registry;
}

function readRules(configz: unknown): Record<string, RuleView[]> {
  const out: Record<string, RuleView[]> = {};
  const config = new FieldReader(configz, { what: 'configz' }).object('config');
  for (const r of config.list('routeRules')) {
    const dest = r.raw('destination');
    const precedence = r.raw('precedence');
    const view: RuleView = {
      namespace: r.string('namespace', ''),
      name: r.string('name', ''),
      precedence: typeof precedence === 'number' ? precedence : null,
      applied: r.boolean('applied', false),
      reason: typeof r.raw('reason') === 'string' ? r.string('reason', '') : null,
      message: typeof r.raw('message') === 'string' ? r.string('message', '') : null,
    };
    const key = typeof dest === 'string' ? dest : '';
    (out[key] ??= []).push(view);
  }
  return out;
}

export class Collector {
  private readonly o: CollectorOptions;
  private prev: Observation | undefined;
  private latest: DashboardState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly rounds: Counter;
  private readonly duration: Histogram;

  constructor(o: CollectorOptions) {
    this.o = o;
    this.rounds = new Counter({
      name: 'dashboard_collections_total',
      help: 'Rounds of reading Mixer and Pilot, by result (ok, or partial when a source failed).',
      labelNames: ['result'],
      registers: [o.registry],
    });
    this.duration = new Histogram({
      name: 'dashboard_collection_seconds',
      help: 'How long a round of reading Mixer and Pilot took.',
      registers: [o.registry],
    });
  }

  /** Collects now, then every interval until `stop()`. */
  start(): void {
    const loop = () => {
      this.running = this.collect().then(
        () => undefined,
        (e: unknown) => {
          this.o.logger.error({ err: errorMessage(e) }, 'dashboard: collection failed');
        },
      );
      void this.running.finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.o.intervalMs);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  state(): DashboardState | undefined {
    return this.latest;
  }

  /** Why the page has nothing to show yet, or undefined. */
  notReady(): string | undefined {
    return this.latest ? undefined : 'first collection not done yet';
  }

  /** One round (also called by tests to collect at once). */
  async collect(): Promise<DashboardState> {
    const end = this.duration.startTimer();
    const problems: string[] = [];
    const at = Date.now();
    const [samples, status, rules] = await Promise.all([
      this.o.metrics.samples(problems).catch((e: unknown) => {
        problems.push(errorMessage(e));
        return [];
      }),
      collectProxyStatus(this.o.plane).catch((e: unknown) => {
        problems.push(errorMessage(e));
        return undefined;
      }),
      this.rules(problems),
    ]);
    for (const f of status?.failures ?? []) problems.push(`Pilot ${f.pilot}: ${f.message}`);
    const cur = observe(samples, at);
    const graph = buildGraph(cur, this.prev);
    this.prev = cur;
    this.latest = {
      updatedAt: new Date(at).toISOString(),
      graph,
      rules,
      proxies: status?.proxies ?? [],
      pilots: status?.pilots ?? [],
      sources: { metrics: this.o.metrics.describe, pilot: this.o.plane.source },
      problems,
    };
    this.rounds.inc({ result: problems.length === 0 ? 'ok' : 'partial' });
    end();
    if (problems.length > 0) this.o.logger.warn({ problems }, 'dashboard: some sources failed');
    return this.latest;
  }

  private async rules(problems: string[]): Promise<Record<string, RuleView[]>> {
    let replicas;
    try {
      replicas = await this.o.plane.pilots();
    } catch {
      return {}; // proxy status reports it
    }
    for (const r of replicas) {
      try {
        return readRules(await readPage(r, 'configz'));
      } catch (e) {
        problems.push(`Pilot ${r.name}: configz: ${errorMessage(e)}`);
      }
    }
    return {};
  }
}

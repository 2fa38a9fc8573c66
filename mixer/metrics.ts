/**
 * Mixer's own metrics (on the Prometheus port next to the adapters' metrics). What is counted or
 * timed on every Check goes through plain cells (HotCounts, published at each scrape) and
 * HotHistogram series rather than prom-client's label hashing per call.
 */
import { HotHistogram } from '../lib/hot-histogram.ts';
import { Counter, Gauge, HotCounts, type Registry } from '../lib/metrics.ts';

export interface MixerMetrics {
  readonly checks: Counter<'api' | 'code'>;
  /** mixer_check_total's cells, by api and code name. */
  readonly checkCounts: HotCounts;
  readonly checkSeconds: HotHistogram<'api'>;
  readonly reportSets: Counter<'api'>;
  readonly dispatches: Counter<'adapter' | 'handler' | 'result'>;
  /** mixer_adapter_dispatch_total's cells, by adapter, handler and result. */
  readonly dispatchCounts: HotCounts;
  readonly dispatchSeconds: HotHistogram<'adapter'>;
  readonly instanceErrors: Counter<'api'>;
  readonly configProblems: Gauge;
  readonly configSnapshot: Gauge;
}

export function createMixerMetrics(registry: Registry): MixerMetrics {
  const r = [registry];
  const checkCounts = new HotCounts(['api', 'code']);
  const dispatchCounts = new HotCounts(['adapter', 'handler', 'result']);
  return {
    checks: new Counter({
      name: 'mixer_check_total',
      help: 'Checks answered, by API and google.rpc code.',
      labelNames: ['api', 'code'],
      registers: r,
      collect() {
        checkCounts.publish(this);
      },
    }),
    checkCounts,
    checkSeconds: new HotHistogram({
      name: 'mixer_check_duration_seconds',
      help: 'Time to answer a check, by API.',
      labelNames: ['api'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5],
      registers: r,
    }),
    reportSets: new Counter({
      name: 'mixer_report_attribute_sets_total',
      help: 'Attribute sets reported, by API.',
      labelNames: ['api'],
      registers: r,
    }),
    dispatches: new Counter({
      name: 'mixer_adapter_dispatch_total',
      help: 'Calls to handlers, by adapter, handler and result (ok, error).',
      labelNames: ['adapter', 'handler', 'result'],
      registers: r,
      collect() {
        dispatchCounts.publish(this);
      },
    }),
    dispatchCounts,
    dispatchSeconds: new HotHistogram({
      name: 'mixer_adapter_dispatch_duration_seconds',
      help: 'Time handlers took, by adapter.',
      labelNames: ['adapter'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
      registers: r,
    }),
    instanceErrors: new Counter({
      name: 'mixer_instance_errors_total',
      help: 'Instances that could not be built for a request (an attribute absent without a fallback).',
      labelNames: ['api'],
      registers: r,
    }),
    configProblems: new Gauge({
      name: 'mixer_config_problems',
      help: 'Config objects rejected in the current snapshot.',
      registers: r,
    }),
    configSnapshot: new Gauge({
      name: 'mixer_config_snapshot',
      help: 'Id of the config snapshot in use.',
      registers: r,
    }),
  };
}

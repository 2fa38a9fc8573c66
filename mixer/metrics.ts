/** Mixer's own metrics (on the Prometheus port next to the adapters' metrics). */
import { Counter, Gauge, Histogram, type Registry } from '../lib/metrics.ts';

export interface MixerMetrics {
  readonly checks: Counter<'api' | 'code'>;
  readonly checkSeconds: Histogram<'api'>;
  readonly reportSets: Counter<'api'>;
  readonly dispatches: Counter<'adapter' | 'handler' | 'result'>;
  readonly dispatchSeconds: Histogram<'adapter'>;
  readonly instanceErrors: Counter<'api'>;
  readonly configProblems: Gauge;
  readonly configSnapshot: Gauge;
}

export function createMixerMetrics(registry: Registry): MixerMetrics {
  const r = [registry];
  return {
    checks: new Counter({
      name: 'mixer_check_total',
      help: 'Checks answered, by API and google.rpc code.',
      labelNames: ['api', 'code'],
      registers: r,
    }),
    checkSeconds: new Histogram({
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
    }),
    dispatchSeconds: new Histogram({
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

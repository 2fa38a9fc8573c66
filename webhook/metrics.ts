/**
 * The webhook's metrics, under Istio's names so existing dashboards work:
 * sidecar_injection_requests_total, _success_total, _skip_total{reason}, _failure_total{code},
 * and the sidecar_injection_time_seconds histogram. Recorded by the injector (injector.ts), the
 * AdmissionHandler; the server only tells it of the bad requests it refused itself.
 */
import { Children, Counter, Histogram, type Registry } from '../lib/metrics.ts';
import type { Decision } from './policy.ts';

/** What one admission request came to, as the injector records it. */
export type InjectionReport =
  | { readonly kind: 'decision'; readonly decision: Decision }
  | { readonly kind: 'not-a-pod' }
  | { readonly kind: 'error'; readonly code: string; readonly message: string }
  /** Refused by the server as bad input before the injector saw it. */
  | { readonly kind: 'bad-request' };

export interface WebhookMetrics {
  record(report: InjectionReport, seconds: number): void;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const requests = new Counter({
    name: 'sidecar_injection_requests_total',
    help: 'Admission requests received, by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  const success = new Counter({
    name: 'sidecar_injection_success_total',
    help: 'Pods injected, by the reason they were.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const skip = new Counter({
    name: 'sidecar_injection_skip_total',
    help: 'Pods not injected, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const failure = new Counter({
    name: 'sidecar_injection_failure_total',
    help: 'Requests that failed, by error code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const time = new Histogram({
    name: 'sidecar_injection_time_seconds',
    help: 'Time to answer an admission request.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  // Children made once per label value: an admission counts without hashing label objects.
  const byResult = new Children((result) => requests.labels({ result }));
  const successBy = new Children((reason) => success.labels({ reason }));
  const skipBy = new Children((reason) => skip.labels({ reason }));
  const failureBy = new Children((code) => failure.labels({ code }));
  return {
    record(report, seconds) {
      time.observe(seconds);
      switch (report.kind) {
        case 'decision':
          byResult.get(report.decision.inject ? 'injected' : 'skipped').inc();
          (report.decision.inject ? successBy : skipBy).get(report.decision.reason).inc();
          break;
        case 'not-a-pod':
          byResult.get('not_a_pod').inc();
          break;
        case 'error':
          byResult.get('error').inc();
          failureBy.get(report.code).inc();
          break;
        case 'bad-request':
          byResult.get('bad_request').inc();
          failureBy.get('bad_request').inc();
          break;
      }
    },
  };
}

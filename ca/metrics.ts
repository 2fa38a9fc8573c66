/**
 * The CA's metrics, under Citadel's names where Istio had one (citadel_server_csr_count,
 * citadel_server_success_cert_issuance_count, citadel_server_root_cert_expiry_timestamp), plus
 * failures by reason, issuance latency and the Secret controller's writes.
 */
import { Counter, Gauge, Histogram, type Registry } from '../lib/metrics.ts';

export type CsrApi = 'CreateCertificate' | 'HandleCSR';

export interface CaMetrics {
  readonly csr: Counter<'api'>;
  readonly issued: Counter<'api' | 'auth'>;
  readonly failures: Counter<'api' | 'reason'>;
  readonly latency: Histogram<'api'>;
  readonly secretWrites: Counter<'cause'>;
  readonly secretErrors: Counter;
  readonly rootExpiry: Gauge;
}

export function createCaMetrics(registry: Registry): CaMetrics {
  const registers = [registry];
  return {
    csr: new Counter({
      name: 'citadel_server_csr_count',
      help: 'CSRs received, by API.',
      labelNames: ['api'],
      registers,
    }),
    issued: new Counter({
      name: 'citadel_server_success_cert_issuance_count',
      help: 'Certificates issued for CSRs, by API and how the caller authenticated.',
      labelNames: ['api', 'auth'],
      registers,
    }),
    failures: new Counter({
      name: 'citadel_server_csr_failure_count',
      help: 'CSRs refused or failed, by API and reason.',
      labelNames: ['api', 'reason'],
      registers,
    }),
    latency: new Histogram({
      name: 'citadel_server_csr_duration_seconds',
      help: 'Time to answer a CSR (authentication, checks and signing).',
      labelNames: ['api'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    secretWrites: new Counter({
      name: 'citadel_secret_controller_writes_total',
      help: 'istio.<sa> Secrets written, by cause (created, expiring, root_changed, invalid).',
      labelNames: ['cause'],
      registers,
    }),
    secretErrors: new Counter({
      name: 'citadel_secret_controller_errors_total',
      help: 'Failed attempts to write an istio.<sa> Secret (retried).',
      registers,
    }),
    rootExpiry: new Gauge({
      name: 'citadel_server_root_cert_expiry_timestamp',
      help: 'Unix time (seconds) when the root certificate expires.',
      registers,
    }),
  };
}

/**
 * DestinationPolicy onto a cluster: `loadBalancing.name` to `lb_policy` (LEAST_CONN is Envoy's
 * LEAST_REQUEST), `circuitBreaker.simpleCb` to circuit breaker thresholds, requests per
 * connection and outlier detection (consecutive 5xx only, as 0.2 did: Envoy's success-rate
 * ejection is turned off).
 *
 * Proxyless gRPC accepts only ROUND_ROBIN and RING_HASH and has no consecutive-5xx ejection, so
 * its clusters keep round robin and get the request limit only (the one circuit breaker field
 * gRPC honours); `proxylessNotes` says so in /debug/configz.
 */
import type { Cluster } from '../../lib/xds/types.ts';
import type { DestinationPolicy, LoadBalancer } from '../config/model.ts';
import { duration } from './filters.ts';

const lbPolicy: Readonly<Record<LoadBalancer, NonNullable<Cluster['lb_policy']>>> = {
  ROUND_ROBIN: 'ROUND_ROBIN',
  LEAST_CONN: 'LEAST_REQUEST',
  RANDOM: 'RANDOM',
};

/** The cluster with the policy's fields set (a copy; the cluster must be EDS or STRICT_DNS). */
export function withPolicy(
  c: Cluster,
  p: DestinationPolicy | undefined,
  forGrpc: boolean,
): Cluster {
  if (p === undefined) return c;
  const cb = p.circuitBreaker;
  if (forGrpc) {
    if (cb === undefined) return c;
    return {
      ...c,
      circuit_breakers: {
        thresholds: [{ priority: 'DEFAULT', max_requests: { value: cb.httpMaxRequests } }],
      },
    };
  }
  const out: Cluster = {
    ...c,
    ...(p.loadBalancing !== undefined ? { lb_policy: lbPolicy[p.loadBalancing] } : {}),
  };
  if (cb === undefined) return out;
  return {
    ...out,
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT',
          ...(cb.maxConnections !== undefined
            ? { max_connections: { value: cb.maxConnections } }
            : {}),
          max_pending_requests: { value: cb.httpMaxPendingRequests },
          max_requests: { value: cb.httpMaxRequests },
          max_retries: { value: cb.httpMaxRetries },
        },
      ],
    },
    outlier_detection: {
      consecutive_5xx: { value: cb.httpConsecutiveErrors },
      interval: duration(cb.httpDetectionIntervalMs),
      base_ejection_time: duration(cb.sleepWindowMs),
      max_ejection_percent: { value: cb.httpMaxEjectionPercent },
      enforcing_consecutive_5xx: { value: 100 },
      enforcing_success_rate: { value: 0 },
    },
  };
}

/** What proxyless clients do differently for a policy (lines for /debug/configz). */
export function proxylessNotes(p: DestinationPolicy): string[] {
  const out: string[] = [];
  if (p.loadBalancing !== undefined && p.loadBalancing !== 'ROUND_ROBIN') {
    out.push(`proxyless gRPC clients balance ${p.destination} round robin, not ${p.loadBalancing}`);
  }
  if (p.circuitBreaker !== undefined) {
    out.push(
      `proxyless gRPC clients of ${p.destination} honour httpMaxRequests only (no connection limits or outlier ejection)`,
    );
  }
  return out;
}

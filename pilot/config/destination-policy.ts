/**
 * DestinationPolicy (config.istio.io/v1alpha2) from a raw object: destination (labels narrow it to
 * one version), source, loadBalancing.name and circuitBreaker.simpleCb with 0.2's defaults
 * (1024 pending and in-flight requests, 3 retries, 30s sleep window, 5 consecutive errors, 10s
 * detection interval, 10% max ejection).
 */
import type { FieldReader } from '../../lib/config/field-reader.ts';
import {
  ConfigKind,
  LoadBalancer,
  type DestinationPolicy,
  type SimpleCircuitBreaker,
} from './model.ts';
import { durationField, objectMeta, serviceRef, specReader } from './parse-common.ts';

const int32 = 2 ** 31 - 1;

export const simpleCbDefaults = {
  httpMaxPendingRequests: 1024,
  httpMaxRequests: 1024,
  httpMaxRetries: 3,
  sleepWindowMs: 30_000,
  httpConsecutiveErrors: 5,
  httpDetectionIntervalMs: 10_000,
  httpMaxEjectionPercent: 10,
} as const;

function optionalInt(r: FieldReader, key: string, min: number): number | undefined {
  const v = r.integer(key, -1, min, int32);
  return v === -1 ? undefined : v;
}

function circuitBreaker(r: FieldReader): SimpleCircuitBreaker | undefined {
  if (r.keys().length === 0) return undefined;
  const cb = r.object('simpleCb');
  r.done();
  const d = simpleCbDefaults;
  const out: SimpleCircuitBreaker = {
    maxConnections: optionalInt(cb, 'maxConnections', 1),
    httpMaxPendingRequests: cb.integer(
      'httpMaxPendingRequests',
      d.httpMaxPendingRequests,
      1,
      int32,
    ),
    httpMaxRequests: cb.integer('httpMaxRequests', d.httpMaxRequests, 1, int32),
    httpMaxRetries: cb.integer('httpMaxRetries', d.httpMaxRetries, 0, int32),
    sleepWindowMs: durationField(cb, 'sleepWindow') ?? d.sleepWindowMs,
    httpConsecutiveErrors: cb.integer('httpConsecutiveErrors', d.httpConsecutiveErrors, 1, int32),
    httpDetectionIntervalMs:
      durationField(cb, 'httpDetectionInterval') ?? d.httpDetectionIntervalMs,
    httpMaxRequestsPerConnection: optionalInt(cb, 'httpMaxRequestsPerConnection', 1),
    httpMaxEjectionPercent: cb.integer('httpMaxEjectionPercent', d.httpMaxEjectionPercent, 0, 100),
  };
  cb.done();
  return out;
}

/** Parses a DestinationPolicy; throws an InvalidConfig error naming the field. */
export function parseDestinationPolicy(raw: unknown, domain: string): DestinationPolicy {
  const meta = objectMeta(ConfigKind.DestinationPolicy, raw);
  const r = specReader(meta, raw);
  const refOpts = { namespace: meta.namespace, domain, labels: true };
  const dest = serviceRef(r.object('destination'), { ...refOpts, labelsOnly: false });
  const hasSource = r.object('source').keys().length > 0;
  const source = hasSource
    ? serviceRef(r.object('source'), { ...refOpts, labelsOnly: true })
    : undefined;
  const lb = r.object('loadBalancing');
  const loadBalancing =
    lb.keys().length > 0 ? lb.oneOf('name', LoadBalancer, 'ROUND_ROBIN') : undefined;
  lb.done();
  const policy: DestinationPolicy = {
    meta,
    destination: dest.host ?? '',
    destinationLabels: dest.labels,
    source,
    loadBalancing,
    circuitBreaker: circuitBreaker(r.object('circuitBreaker')),
  };
  r.done();
  if (policy.loadBalancing === undefined && policy.circuitBreaker === undefined) {
    r.fail('loadBalancing', 'needs loadBalancing or circuitBreaker');
  }
  return policy;
}

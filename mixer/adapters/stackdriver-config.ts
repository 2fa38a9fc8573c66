/**
 * The stackdriver adapter's spec, as Istio 0.2 wrote it (adapter.stackdriver.config.Params;
 * docs/reference/stackdriver.md): `endpoint`, `projectId`, `pushInterval` (default 1m), one of
 * `appCredentials` / `apiKey` / `serviceAccountPath` (none: application default credentials),
 * `metricInfo` (per metric instance: `kind`, `value`, `buckets`) and `logInfo` (per logentry
 * instance: `labelNames`, `payloadTemplate`, `httpMapping`). Enums by name or number, as 0.2's
 * sample config wrote them (`kind: 2 # DELTA`).
 */
import type { FieldReader } from '../adapter.ts';
import { parsePayloadTemplate, type PayloadTemplate } from './stackdriver-payload.ts';

/** google.api.MetricDescriptor.MetricKind, in enum order. */
export const MetricKind = ['METRIC_KIND_UNSPECIFIED', 'GAUGE', 'DELTA', 'CUMULATIVE'] as const;
export type MetricKind = (typeof MetricKind)[number];

/** google.api.MetricDescriptor.ValueType, in enum order. */
export const MetricValueType = [
  'VALUE_TYPE_UNSPECIFIED',
  'BOOL',
  'INT64',
  'DOUBLE',
  'STRING',
  'DISTRIBUTION',
  'MONEY',
] as const;
export type MetricValueType = (typeof MetricValueType)[number];

/** google.api.Distribution.BucketOptions, as Cloud Monitoring takes it. */
export type BucketOptions =
  | { readonly linearBuckets: { numFiniteBuckets: number; width: number; offset: number } }
  | {
      readonly exponentialBuckets: {
        numFiniteBuckets: number;
        growthFactor: number;
        scale: number;
      };
    }
  | { readonly explicitBuckets: { bounds: number[] } };

export interface MetricInfo {
  readonly kind: 'GAUGE' | 'DELTA' | 'CUMULATIVE';
  readonly value: 'BOOL' | 'INT64' | 'DOUBLE' | 'STRING' | 'DISTRIBUTION';
  readonly buckets: BucketOptions | undefined;
}

export const httpFields = [
  'status',
  'requestSize',
  'responseSize',
  'latency',
  'localIp',
  'remoteIp',
  'url',
  'method',
  'userAgent',
  'referer',
] as const;
export type HttpField = (typeof httpFields)[number];

export interface LogInfo {
  readonly labelNames: readonly string[];
  readonly payload: PayloadTemplate | undefined;
  /** Template variable name for each HttpRequest field it fills. */
  readonly httpMapping: ReadonlyMap<HttpField, string> | undefined;
}

export type Credentials =
  | { readonly kind: 'app' }
  | { readonly kind: 'apiKey'; readonly apiKey: string }
  | { readonly kind: 'serviceAccount'; readonly path: string };

/** Where to send: Google's endpoints (undefined), another host with TLS, or plaintext. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** `http://…`: no TLS and no credentials (a local emulator or a proxy that adds them). */
  readonly plaintext: boolean;
}

export interface StackdriverConfig {
  readonly endpoint: Endpoint | undefined;
  readonly projectId: string;
  readonly pushIntervalMs: number;
  readonly credentials: Credentials;
  readonly metricInfo: ReadonlyMap<string, MetricInfo>;
  readonly logInfo: ReadonlyMap<string, LogInfo>;
}

function readEndpoint(spec: FieldReader): Endpoint | undefined {
  const text = spec.string('endpoint', '');
  if (text === '') return undefined;
  const m = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/\s]+)(?::(\d{1,5}))?\/?$/.exec(text);
  if (!m) return spec.fail('endpoint', `"${text}" must be host, host:port or http(s)://host:port`);
  const plaintext = m[1] === 'http';
  const port = m[3] === undefined ? (plaintext ? 80 : 443) : Number(m[3]);
  if (port < 1 || port > 65535) spec.fail('endpoint', `port ${String(port)} is out of range`);
  return { host: (m[2] ?? '').replace(/^\[|\]$/g, ''), port, plaintext };
}

function readCredentials(spec: FieldReader): Credentials {
  const set = ['appCredentials', 'apiKey', 'serviceAccountPath'].filter((k) => spec.has(k));
  if (set.length > 1) {
    spec.fail(set[1] ?? '', `set only one of appCredentials, apiKey, serviceAccountPath`);
  }
  if (spec.has('apiKey')) return { kind: 'apiKey', apiKey: spec.requiredString('apiKey') };
  if (spec.has('serviceAccountPath')) {
    return { kind: 'serviceAccount', path: spec.requiredString('serviceAccountPath') };
  }
  spec.boolean('appCredentials', true);
  return { kind: 'app' };
}

function readBuckets(b: FieldReader): BucketOptions | undefined {
  const keys = ['linearBuckets', 'exponentialBuckets', 'explicitBuckets'];
  const set = keys.filter((k) => b.has(k));
  if (set.length > 1) b.fail(set[1] ?? '', 'set only one of ' + keys.join(', '));
  let out: BucketOptions | undefined;
  if (b.has('linearBuckets')) {
    const l = b.object('linearBuckets');
    out = {
      linearBuckets: {
        numFiniteBuckets: l.integer('numFiniteBuckets', 0, 1, 10_000),
        width: l.number('width', 0, Number.MIN_VALUE, Number.MAX_VALUE),
        offset: l.number('offset', 0, -Number.MAX_VALUE, Number.MAX_VALUE),
      },
    };
    if (!l.has('numFiniteBuckets') || !l.has('width')) {
      l.fail(l.has('width') ? 'numFiniteBuckets' : 'width', 'is required');
    }
    l.done();
  } else if (b.has('exponentialBuckets')) {
    const e = b.object('exponentialBuckets');
    out = {
      exponentialBuckets: {
        numFiniteBuckets: e.integer('numFiniteBuckets', 0, 1, 10_000),
        growthFactor: e.number('growthFactor', 0, 1.000001, Number.MAX_VALUE),
        scale: e.number('scale', 0, Number.MIN_VALUE, Number.MAX_VALUE),
      },
    };
    for (const k of ['numFiniteBuckets', 'growthFactor', 'scale']) {
      if (!e.has(k)) e.fail(k, 'is required');
    }
    e.done();
  } else if (b.has('explicitBuckets')) {
    const x = b.object('explicitBuckets');
    const bounds = [...x.numberList('bounds')];
    if (bounds.length === 0) x.fail('bounds', 'needs at least one bound');
    bounds.forEach((v, i) => {
      if (i > 0 && v <= (bounds[i - 1] ?? v)) x.fail('bounds', 'must increase');
    });
    x.done();
    out = { explicitBuckets: { bounds } };
  }
  b.done();
  return out;
}

function readMetricInfo(m: FieldReader): MetricInfo {
  const kind = m.oneOf('kind', MetricKind, 'METRIC_KIND_UNSPECIFIED');
  const value = m.oneOf('value', MetricValueType, 'VALUE_TYPE_UNSPECIFIED');
  if (kind === 'METRIC_KIND_UNSPECIFIED') m.fail('kind', 'is required: GAUGE, DELTA or CUMULATIVE');
  if (value === 'VALUE_TYPE_UNSPECIFIED') {
    m.fail('value', 'is required: BOOL, INT64, DOUBLE, STRING or DISTRIBUTION');
  }
  if (value === 'MONEY') m.fail('value', 'MONEY is not supported');
  if ((value === 'BOOL' || value === 'STRING') && kind !== 'GAUGE') {
    m.fail('kind', `a ${value} metric must be a GAUGE (Cloud Monitoring's rule)`);
  }
  const buckets = readBuckets(m.object('buckets'));
  if (value === 'DISTRIBUTION' && buckets === undefined) {
    m.fail('buckets', 'is required for a DISTRIBUTION');
  }
  m.done();
  return { kind, value, buckets };
}

function readLogInfo(l: FieldReader): LogInfo {
  const labelNames = l.stringList('labelNames');
  const text = l.string('payloadTemplate', '');
  let payload: PayloadTemplate | undefined;
  if (text !== '') {
    try {
      payload = parsePayloadTemplate(text);
    } catch (e) {
      l.fail('payloadTemplate', e instanceof Error ? e.message : String(e));
    }
  }
  let httpMapping: Map<HttpField, string> | undefined;
  if (l.has('httpMapping')) {
    const h = l.object('httpMapping');
    httpMapping = new Map();
    for (const f of httpFields) {
      const v = h.string(f, '');
      if (v !== '') httpMapping.set(f, v);
    }
    h.done();
  }
  l.done();
  return { labelNames, payload, httpMapping };
}

/** Reads the whole spec; throws a FieldError naming the field. */
export function readStackdriverConfig(spec: FieldReader): StackdriverConfig {
  const endpoint = readEndpoint(spec);
  const projectId = spec.requiredString('projectId');
  if (!/^[a-z0-9][a-z0-9.:-]*$/.test(projectId)) {
    spec.fail('projectId', `"${projectId}" is not a Google Cloud project id`);
  }
  // As in 0.2, no interval (or 0) is once a minute.
  const pushIntervalMs = spec.duration('pushInterval', 0) || 60_000;
  const credentials = readCredentials(spec);
  const metricInfo = new Map(
    [...spec.objectMap('metricInfo')].map(([k, m]) => [k, readMetricInfo(m)]),
  );
  const logInfo = new Map([...spec.objectMap('logInfo')].map(([k, l]) => [k, readLogInfo(l)]));
  spec.done();
  return { endpoint, projectId, pushIntervalMs, credentials, metricInfo, logInfo };
}

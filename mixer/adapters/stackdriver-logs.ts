/**
 * Logentry instances as Cloud Logging entries (google.logging.v2.LogEntry, in the shape Google's
 * Node client takes), as Istio 0.2 mapped them: the log is named after the instance, labels are
 * the variables `labelNames` lists, the payload is `payloadTemplate` rendered over the variables
 * (without a template: every variable, as a JSON payload), `httpMapping` fills the entry's
 * HttpRequest from the variables it names, the severity is the instance's (Go's ParseSeverity:
 * a name in any case, else DEFAULT).
 */
import { Duration, IpAddress, formatValue, type Value } from '../../lib/mixer/value.ts';
import type { LogEntryInstance } from '../adapter.ts';
import type { HttpField, LogInfo } from './stackdriver-config.ts';
import { resourceOf, timestamp } from './stackdriver-metrics.ts';

const severities = [
  'DEFAULT',
  'DEBUG',
  'INFO',
  'NOTICE',
  'WARNING',
  'ERROR',
  'CRITICAL',
  'ALERT',
  'EMERGENCY',
];

export function severityOf(s: string): string {
  const up = s.trim().toUpperCase();
  return severities.includes(up) ? up : 'DEFAULT';
}

/** A google.protobuf.Value of an attribute value. */
function protoValue(v: Value): object {
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (v instanceof Map) {
    const fields: Record<string, object> = {};
    for (const [k, x] of v as ReadonlyMap<string, string>) fields[k] = { stringValue: x };
    return { structValue: { fields } };
  }
  return { stringValue: formatValue(v) };
}

function int(v: Value | undefined): number | undefined {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

function text(v: Value | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v instanceof IpAddress ? v.toString() : formatValue(v);
}

function httpRequest(
  map: ReadonlyMap<HttpField, string>,
  vars: ReadonlyMap<string, Value>,
): object {
  const get = (f: HttpField) => {
    const name = map.get(f);
    return name === undefined ? undefined : vars.get(name);
  };
  const out: Record<string, unknown> = {};
  const put = (key: string, v: unknown) => {
    if (v !== undefined) out[key] = v;
  };
  put('requestMethod', text(get('method')));
  put('requestUrl', text(get('url')));
  put('requestSize', int(get('requestSize')));
  put('status', int(get('status')));
  put('responseSize', int(get('responseSize')));
  put('userAgent', text(get('userAgent')));
  put('remoteIp', text(get('remoteIp')));
  put('serverIp', text(get('localIp')));
  put('referer', text(get('referer')));
  const latency = get('latency');
  if (latency instanceof Duration) put('latency', latency.toProto());
  return out;
}

/** Why the instance cannot be logged by this logInfo (labels or mapped variables it lacks). */
export function logInfoProblem(
  name: string,
  info: LogInfo,
  keys: readonly string[],
): string | undefined {
  const wanted = [...info.labelNames, ...(info.httpMapping?.values() ?? [])];
  const missing = [...new Set(wanted.filter((k) => !keys.includes(k)))];
  if (missing.length === 0) return undefined;
  return `logInfo for ${name} names variables ${missing.join(', ')} that ${name} does not have`;
}

export function logEntry(i: LogEntryInstance, info: LogInfo, projectId: string): object {
  const labels: Record<string, string> = {};
  for (const k of info.labelNames) {
    const v = i.variables.get(k);
    if (v !== undefined) labels[k] = formatValue(v);
  }
  const entry: Record<string, unknown> = {
    logName: `projects/${projectId}/logs/${encodeURIComponent(i.name)}`,
    resource: resourceOf(i.monitoredResourceType, i.monitoredResourceDimensions, projectId),
    timestamp: timestamp(i.timestamp.getTime()),
    severity: severityOf(i.severity),
    labels,
  };
  if (info.payload) entry['textPayload'] = info.payload.render(i.variables);
  else {
    const fields: Record<string, object> = {};
    for (const [k, v] of i.variables) fields[k] = protoValue(v);
    entry['jsonPayload'] = { fields };
  }
  if (info.httpMapping) entry['httpRequest'] = httpRequest(info.httpMapping, i.variables);
  return entry;
}

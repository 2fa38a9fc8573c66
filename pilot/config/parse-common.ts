/**
 * What every config parser shares: object metadata, IstioService references resolved to
 * hostnames, string matches and durations. Objects from the API server are untrusted:
 * every field is narrowed here, and a wrong one is an error naming it (`spec.route[0].weight`).
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { isObject } from '../../lib/json.ts';
import { FieldReader } from '../../lib/config/field-reader.ts';
import { describe, durationMs, isDuration } from '../../lib/config/values.ts';
import {
  MatchType,
  type ConfigKind,
  type ConfigMeta,
  type ServiceRef,
  type StringMatch,
} from './model.ts';

/** The metadata of a raw object; throws when it has no name or namespace. */
export function objectMeta(kind: ConfigKind, raw: unknown): ConfigMeta {
  const md = isObject(raw) ? raw['metadata'] : undefined;
  if (!isObject(md) || typeof md['name'] !== 'string' || typeof md['namespace'] !== 'string') {
    throw new IstioLiteError(ErrorCode.InvalidConfig, `${kind}: metadata needs name and namespace`);
  }
  const uid = md['uid'];
  const generation = md['generation'];
  return {
    kind,
    namespace: md['namespace'],
    name: md['name'],
    uid: typeof uid === 'string' ? uid : undefined,
    generation: typeof generation === 'number' ? generation : undefined,
  };
}

/** `RouteRule shop/reviews`: how errors name the object. */
export function what(meta: ConfigMeta): string {
  return `${meta.kind} ${meta.namespace}/${meta.name}`;
}

/** The spec of a raw object, read with errors naming `spec.<field>`. */
export function specReader(meta: ConfigMeta, raw: unknown): FieldReader {
  const spec = isObject(raw) ? raw['spec'] : undefined;
  return new FieldReader(spec, { path: 'spec', what: what(meta) });
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface ServiceRefOptions {
  /** The namespace a bare name lives in (the object's). */
  readonly namespace: string;
  /** The cluster's DNS domain (`cluster.local`). */
  readonly domain: string;
  /** Whether labels are allowed (not on a RouteRule destination). */
  readonly labels: boolean;
  /** Whether a ref with labels and no service is enough (sources). */
  readonly labelsOnly: boolean;
}

/**
 * An IstioService: `service` (an FQDN) or `name` [+ `namespace`, `domain`], resolved to a
 * hostname `name.namespace.svc.domain`; `labels` select a version.
 */
export function serviceRef(r: FieldReader, o: ServiceRefOptions): ServiceRef {
  const name = r.string('name', '');
  const namespace = r.string('namespace', o.namespace);
  const domain = r.string('domain', o.domain);
  const service = r.string('service', '');
  const labels = Object.fromEntries(r.stringMap('labels'));
  r.done();
  if (name !== '' && !dnsLabel.test(name)) r.fail('name', `"${name}" is not a DNS label`);
  if (!dnsLabel.test(namespace)) r.fail('namespace', `"${namespace}" is not a DNS label`);
  if (!o.labels && Object.keys(labels).length > 0) {
    r.fail('labels', 'not allowed here: a RouteRule destination names every version');
  }
  let host: string | undefined;
  if (service !== '') host = service.toLowerCase();
  else if (name !== '') host = `${name}.${namespace}.svc.${domain}`;
  if (host === undefined && !(o.labelsOnly && Object.keys(labels).length > 0)) {
    r.fail(o.labelsOnly ? 'labels' : 'name', 'needs name or service');
  }
  return { host, labels };
}

/** What RE2 (Envoy's and gRPC's regex engine) refuses though JavaScript takes it. */
const notRe2 = /\(\?<?[=!]|\\[1-9]|\\k</;

/** `{exact|prefix|regex: value}`; a regex must compile, and be one RE2 takes (no lookaround or backreferences). */
export function stringMatch(r: FieldReader): StringMatch {
  const set = MatchType.filter((t) => r.raw(t) !== undefined);
  r.done();
  const type = set[0];
  if (type === undefined || set.length > 1) {
    r.fail(set[1] ?? 'exact', 'needs exactly one of exact, prefix, regex');
  }
  const value = r.string(type, '');
  if (type === 'regex') {
    try {
      new RegExp(value, 'u');
    } catch (e) {
      r.fail('regex', `does not compile: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (notRe2.test(value)) {
      r.fail('regex', 'lookaround and backreferences are not supported (RE2 syntax)');
    }
  }
  return { type, value };
}

/** A Go-style duration (`10s`, `1.5s`, `500ms`) of at least 1 ms, in milliseconds. */
export function durationField(r: FieldReader, key: string): number | undefined {
  const v = r.raw(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !isDuration(v)) {
    r.fail(key, `must be a duration like "10s" or "500ms", got ${describe(v)}`);
  }
  const ms = durationMs(v);
  if (ms < 1) r.fail(key, `must be at least 1ms, got "${v}"`);
  return ms;
}

/** Labels from a map the reader narrowed to strings, as a record sorted by key. */
export function copyLabels(labels: ReadonlyMap<string, string>): Readonly<Record<string, string>> {
  return Object.fromEntries([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

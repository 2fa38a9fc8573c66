/**
 * RouteRule (config.istio.io/v1alpha2) from a raw object. The fields are Istio 0.2's
 * (docs/reference/pilot.md, "Routing config"): destination, precedence, match {source, request.headers}, route[], redirect,
 * rewrite, websocketUpgrade, httpReqTimeout, httpReqRetries, httpFault. A single route entry
 * without a weight gets 100; route and redirect exclude each other.
 */
import type { FieldReader } from '../../lib/config/field-reader.ts';
import {
  ConfigKind,
  type HeaderMatch,
  type HttpFault,
  type HttpRedirect,
  type HttpRetry,
  type RouteRule,
  type WeightedDestination,
} from './model.ts';
import {
  copyLabels,
  durationField,
  objectMeta,
  serviceRef,
  specReader,
  stringMatch,
} from './parse-common.ts';

const headerName = /^[a-z0-9][-a-z0-9_.]*$/;

function headers(r: FieldReader): HeaderMatch[] {
  const request = r.object('request');
  const hs = request.object('headers');
  request.done();
  const out: HeaderMatch[] = [];
  for (const name of hs.keys().sort()) {
    if (!headerName.test(name)) hs.fail(name, 'header names must be lowercase');
    out.push({ name, match: stringMatch(hs.object(name)) });
  }
  hs.done();
  return out;
}

function redirectLike(r: FieldReader): HttpRedirect | undefined {
  if (r.keys().length === 0) return undefined;
  const uri = r.string('uri', '');
  const authority = r.string('authority', '');
  r.done();
  if (uri === '' && authority === '') r.fail('uri', 'needs uri or authority');
  if (uri !== '' && !uri.startsWith('/')) r.fail('uri', `must start with /, got "${uri}"`);
  return { uri: uri || undefined, authority: authority || undefined };
}

function retries(r: FieldReader): HttpRetry | undefined {
  if (r.keys().length === 0) return undefined;
  const simple = r.object('simpleRetry');
  r.done();
  const attempts = simple.integer('attempts', 0, 0, 100);
  const perTryTimeoutMs = durationField(simple, 'perTryTimeout');
  simple.done();
  return { attempts, perTryTimeoutMs };
}

function timeout(r: FieldReader): number | undefined {
  if (r.keys().length === 0) return undefined;
  const simple = r.object('simpleTimeout');
  r.done();
  const ms = durationField(simple, 'timeout');
  simple.done();
  if (ms === undefined) simple.fail('timeout', 'missing');
  return ms;
}

function fault(r: FieldReader): HttpFault | undefined {
  if (r.keys().length === 0) return undefined;
  const d = r.object('delay');
  const a = r.object('abort');
  r.done();
  let delay: HttpFault['delay'];
  if (d.keys().length > 0) {
    const percent = d.number('percent', 100, 0, 100);
    const fixedDelayMs = durationField(d, 'fixedDelay');
    d.done();
    if (fixedDelayMs === undefined) return d.fail('fixedDelay', 'missing');
    delay = { percent, fixedDelayMs };
  }
  let abort: HttpFault['abort'];
  if (a.keys().length > 0) {
    const percent = a.number('percent', 100, 0, 100);
    const httpStatus = a.integer('httpStatus', 0, 200, 599);
    a.done();
    if (httpStatus === 0) a.fail('httpStatus', 'missing');
    abort = { percent, httpStatus };
  }
  if (delay === undefined && abort === undefined) r.fail('delay', 'needs delay or abort');
  return { delay, abort };
}

/** Parses a RouteRule; throws an InvalidConfig error naming the field. */
export function parseRouteRule(raw: unknown, domain: string): RouteRule {
  const meta = objectMeta(ConfigKind.RouteRule, raw);
  const r = specReader(meta, raw);
  const refOpts = { namespace: meta.namespace, domain };
  const dest = serviceRef(r.object('destination'), {
    ...refOpts,
    labels: false,
    labelsOnly: false,
  });
  const destination = dest.host ?? '';
  const precedence = r.integer('precedence', 0, -(2 ** 31), 2 ** 31 - 1);
  const m = r.object('match');
  const hasSource = m.object('source').keys().length > 0;
  const source = hasSource
    ? serviceRef(m.object('source'), { ...refOpts, labels: true, labelsOnly: true })
    : undefined;
  const matchHeaders = headers(m);
  m.done();
  const routes = r.list('route');
  const route: WeightedDestination[] = [];
  for (const e of routes) {
    const hasDest = e.object('destination').keys().length > 0;
    const host = hasDest
      ? (serviceRef(e.object('destination'), { ...refOpts, labels: false, labelsOnly: false })
          .host ?? destination)
      : destination;
    const labels = copyLabels(e.stringMap('labels'));
    const weight = e.integer('weight', routes.length === 1 ? 100 : 0, 0, 100);
    e.done();
    route.push({ host, labels, weight });
  }
  const redirect = redirectLike(r.object('redirect'));
  const rewrite = redirectLike(r.object('rewrite'));
  if (redirect !== undefined && route.length > 0) {
    r.fail('redirect', 'route and redirect exclude each other');
  }
  if (redirect !== undefined && rewrite !== undefined) {
    r.fail('rewrite', 'rewrite cannot be used with redirect');
  }
  const rule: RouteRule = {
    meta,
    destination,
    precedence,
    source,
    headers: matchHeaders,
    route,
    redirect,
    rewrite,
    websocketUpgrade: r.boolean('websocketUpgrade', false),
    timeoutMs: timeout(r.object('httpReqTimeout')),
    retries: retries(r.object('httpReqRetries')),
    fault: fault(r.object('httpFault')),
  };
  r.done();
  return rule;
}

/**
 * Consul's HTTP API as Pilot reads it (Consul 1.x; checked against 1.14): the catalog's service
 * names and tags, its nodes, every health check, each service's instances with their node and
 * health checks, and the blocking-query index. Every field Pilot uses is narrowed here; anything else is ignored. A body of the wrong
 * shape is a FieldError naming the field (`[0].Service.Port: must be an integer ...`), prefixed
 * with what was read (`Consul http://consul:8500/v1/health/service/web`).
 *
 * Source: Consul docs, "Catalog HTTP API" (`GET /v1/catalog/services`, `GET /v1/catalog/nodes`),
 * "Health HTTP API" (`GET /v1/health/service/:service`, `GET /v1/health/state/any`), "Blocking Queries" (`index`, `wait`, `X-Consul-Index`).
 */
import { FieldError, FieldReader } from '../../lib/config/field-reader.ts';
import { describe } from '../../lib/config/values.ts';
import { isObject } from '../../lib/json.ts';

export interface ConsulNode {
  readonly node: string;
  readonly address: string;
  readonly datacenter: string;
  readonly meta: ReadonlyMap<string, string>;
}

export interface ConsulService {
  readonly id: string;
  readonly service: string;
  /** "" when the instance has no address of its own (the node's is used). */
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: ReadonlyMap<string, string>;
}

export const ConsulCheckStatus = ['passing', 'warning', 'critical', 'maintenance'] as const;
export type ConsulCheckStatus = (typeof ConsulCheckStatus)[number];

export interface ConsulCheck {
  readonly checkId: string;
  readonly status: ConsulCheckStatus;
}

/** One instance of a service: an entry of `/v1/health/service/<name>`. */
export interface ConsulHealthEntry {
  readonly node: ConsulNode;
  readonly service: ConsulService;
  readonly checks: readonly ConsulCheck[];
}

/** The names in `/v1/catalog/services` (`{"web": ["tag", ...], ...}`), sorted. */
export function parseCatalogServices(body: unknown, what: string): string[] {
  const r = new FieldReader(body, { what });
  const names = r.keys();
  for (const name of names) {
    if (name === '') r.fail('""', 'a service name must not be empty');
    r.stringList(name);
  }
  return names.sort();
}

/** The catalog's services and their tags (`{"web": ["tag", ...], ...}`), by name. */
export function parseCatalogServiceTags(
  body: unknown,
  what: string,
): Map<string, readonly string[]> {
  const r = new FieldReader(body, { what });
  const out = new Map<string, readonly string[]>();
  for (const name of r.keys().sort()) {
    if (name === '') r.fail('""', 'a service name must not be empty');
    out.set(name, r.stringList(name));
  }
  return out;
}

/** One health check of `/v1/health/state/any`; a node's own checks have ServiceID "". */
export interface ConsulHealthCheck {
  readonly node: string;
  readonly checkId: string;
  readonly status: ConsulCheckStatus;
  readonly serviceId: string;
  readonly serviceName: string;
  readonly modifyIndex: number;
}

function listOf<T>(body: unknown, what: string, each: (r: FieldReader) => T): T[] {
  if (!Array.isArray(body)) {
    throw new FieldError('(root)', `must be a list, got ${describe(body)}`, what);
  }
  return body.map((x, i) => {
    const path = `[${String(i)}]`;
    if (!isObject(x)) throw new FieldError(path, `must be an object, got ${describe(x)}`, what);
    return each(new FieldReader(x, { what, path }));
  });
}

/** Every check in the datacenter: `/v1/health/state/any`. */
export function parseHealthChecks(body: unknown, what: string): ConsulHealthCheck[] {
  return listOf(body, what, (r) => ({
    node: r.requiredString('Node'),
    checkId: r.string('CheckID', ''),
    status: r.oneOf('Status', ConsulCheckStatus, 'critical'),
    serviceId: r.string('ServiceID', ''),
    serviceName: r.string('ServiceName', ''),
    modifyIndex: r.integer('ModifyIndex', 0),
  }));
}

/** The catalog's nodes: `/v1/catalog/nodes` (name, address, metadata). */
export function parseCatalogNodes(body: unknown, what: string): ConsulNode[] {
  return listOf(body, what, node);
}

function node(r: FieldReader): ConsulNode {
  return {
    node: r.requiredString('Node'),
    address: r.string('Address', ''),
    datacenter: r.string('Datacenter', ''),
    meta: r.stringMap('Meta'),
  };
}

function service(r: FieldReader): ConsulService {
  return {
    id: r.requiredString('ID'),
    service: r.requiredString('Service'),
    address: r.string('Address', ''),
    port: r.integer('Port', 0, 0, 65535),
    tags: r.stringList('Tags'),
    meta: r.stringMap('Meta'),
  };
}

function check(r: FieldReader): ConsulCheck {
  return {
    checkId: r.string('CheckID', ''),
    status: r.oneOf('Status', ConsulCheckStatus, 'critical'),
  };
}

/** The entries of `/v1/health/service/<name>`: a list of {Node, Service, Checks}. */
export function parseHealthService(body: unknown, what: string): ConsulHealthEntry[] {
  return listOf(body, what, (r) => ({
    node: node(r.object('Node')),
    service: service(r.object('Service')),
    checks: r.list('Checks').map(check),
  }));
}

/**
 * The blocking-query index of an answer (`X-Consul-Index`), a positive integer. Consul's rules: an
 * index lower than the one asked with means the server's state was reset (read everything again
 * from 0), and 0 must never be sent back (it would not block).
 */
export function consulIndex(header: string | null, what: string): number {
  if (header === null) throw new FieldError('X-Consul-Index', 'header missing', what);
  if (!/^\d{1,16}$/.test(header)) {
    throw new FieldError('X-Consul-Index', `must be a number, got "${header.slice(0, 40)}"`, what);
  }
  return Number(header);
}

/** The index to ask with next, given the one asked with and the one the answer carried. */
export function nextIndex(asked: number, got: number): number {
  if (got < asked) return 0;
  return Math.max(got, 1);
}

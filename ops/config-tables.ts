/**
 * `istio-lite proxy-config … -o short`: one readable row per cluster, listener filter chain, route,
 * endpoint or secret, with the columns `istioctl proxy-config` prints. Reads the resources as JSON
 * (the config dump's form, lib/xds/json-view.ts); a field that is missing shows as `-`.
 */
import { isObject, type JsonObject, type JsonValue } from '../lib/json.ts';
import type { SecretRef } from '../lib/xds/debug-pages.ts';
import { table } from './table.ts';

/** The value at a path of keys and indexes, or undefined. */
function at(v: JsonValue | undefined, ...path: (string | number)[]): JsonValue | undefined {
  let cur = v;
  for (const k of path) {
    if (typeof k === 'number') cur = Array.isArray(cur) ? cur[k] : undefined;
    else cur = isObject(cur) ? cur[k] : undefined;
  }
  return cur;
}

function str(v: JsonValue | undefined, def = '-'): string {
  if (typeof v === 'string') return v === '' ? def : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return def;
}

function list(v: JsonValue | undefined): JsonValue[] {
  return Array.isArray(v) ? v : [];
}

/** `outbound|9080|v1|reviews.default.svc.cluster.local` → its four parts. */
function clusterParts(name: string): { fqdn: string; port: string; subset: string; dir: string } {
  const p = name.split('|');
  if (p.length === 4) {
    return { dir: p[0] ?? '-', port: p[1] || '-', subset: p[2] || '-', fqdn: p[3] || '-' };
  }
  return { fqdn: name, port: '-', subset: '-', dir: '-' };
}

export function clusterTable(resources: readonly JsonObject[]): string {
  const rows = resources
    .map((c) => {
      const name = str(c['name']);
      const p = clusterParts(name);
      const type = str(c['type'], isObject(c['cluster_type']) ? 'CUSTOM' : 'EDS');
      return [p.fqdn, p.port, p.subset, p.dir, type];
    })
    .sort((a, b) => a.join(' ').localeCompare(b.join(' ')));
  return table(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE'], rows);
}

function chainMatch(fc: JsonValue): string {
  const m = at(fc, 'filter_chain_match');
  const parts: string[] = [];
  const ranges = list(at(m, 'prefix_ranges')).map(
    (r) => `${str(at(r, 'address_prefix'))}/${str(at(r, 'prefix_len', 'value'), '32')}`,
  );
  if (ranges.length > 0) parts.push(`Addr: ${ranges.join(',')}`);
  const sni = list(at(m, 'server_names')).map((s) => str(s));
  if (sni.length > 0) parts.push(`SNI: ${sni.join(',')}`);
  const proto = str(at(m, 'transport_protocol'), '');
  if (proto !== '') parts.push(`Transport: ${proto}`);
  const alpn = list(at(m, 'application_protocols')).map((s) => str(s));
  if (alpn.length > 0) parts.push(`ALPN: ${alpn.join(',')}`);
  return parts.length > 0 ? parts.join('; ') : 'ALL';
}

function chainDestination(fc: JsonValue): string {
  for (const f of list(at(fc, 'filters'))) {
    const rds = str(at(f, 'typed_config', 'rds', 'route_config_name'), '');
    if (rds !== '') return `Route: ${rds}`;
    const inline = str(at(f, 'typed_config', 'route_config', 'name'), '');
    if (inline !== '') return `Inline Route: ${inline}`;
    const cluster = str(at(f, 'typed_config', 'cluster'), '');
    if (cluster !== '') return `Cluster: ${cluster}`;
  }
  return '-';
}

export function listenerTable(resources: readonly JsonObject[]): string {
  const rows: string[][] = [];
  for (const l of resources) {
    const addr = str(at(l, 'address', 'socket_address', 'address'));
    const port = str(at(l, 'address', 'socket_address', 'port_value'));
    const chains = [...list(l['filter_chains'])];
    if (l['default_filter_chain'] !== undefined) chains.push(l['default_filter_chain']);
    for (const fc of chains) {
      const chainPort = str(at(fc, 'filter_chain_match', 'destination_port', 'value'), port);
      const isDefault = fc === l['default_filter_chain'];
      rows.push([
        str(l['name']),
        addr,
        chainPort,
        isDefault ? 'Default' : chainMatch(fc),
        chainDestination(fc),
      ]);
    }
  }
  return table(['LISTENER', 'ADDRESS', 'PORT', 'MATCH', 'DESTINATION'], rows);
}

function routeMatch(r: JsonValue): string {
  const m = at(r, 'match');
  const path =
    str(at(m, 'prefix'), '') !== ''
      ? `${str(at(m, 'prefix'))}*`
      : str(at(m, 'path'), '') !== ''
        ? str(at(m, 'path'))
        : str(at(m, 'safe_regex', 'regex'), '') !== ''
          ? `~${str(at(m, 'safe_regex', 'regex'))}`
          : '/*';
  const headers = list(at(m, 'headers')).map((h) => str(at(h, 'name')));
  return headers.length > 0 ? `${path} (headers: ${headers.join(',')})` : path;
}

export function routeTable(resources: readonly JsonObject[]): string {
  const rows: string[][] = [];
  for (const rc of resources) {
    for (const vh of list(rc['virtual_hosts'])) {
      const domains = list(at(vh, 'domains')).map((d) => str(d));
      const shown =
        domains.length > 2
          ? `${domains[0] ?? ''} +${String(domains.length - 1)} more`
          : domains.join(',');
      for (const r of list(at(vh, 'routes'))) {
        rows.push([
          str(rc['name']),
          str(at(vh, 'name')),
          shown || '-',
          routeMatch(r),
          str(at(r, 'name')),
        ]);
      }
    }
  }
  return table(['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'ROUTE'], rows);
}

export function endpointTable(resources: readonly JsonObject[]): string {
  const rows: string[][] = [];
  for (const cla of resources) {
    for (const group of list(cla['endpoints'])) {
      for (const e of list(at(group, 'lb_endpoints'))) {
        const a = at(e, 'endpoint', 'address', 'socket_address');
        rows.push([
          `${str(at(a, 'address'))}:${str(at(a, 'port_value'))}`,
          str(at(e, 'health_status'), 'HEALTHY'),
          str(at(e, 'load_balancing_weight', 'value'), '1'),
          str(cla['cluster_name']),
        ]);
      }
    }
  }
  rows.sort(
    (a, b) => (a[3] ?? '').localeCompare(b[3] ?? '') || (a[0] ?? '').localeCompare(b[0] ?? ''),
  );
  return table(['ENDPOINT', 'STATUS', 'WEIGHT', 'CLUSTER'], rows);
}

export function secretTable(secrets: readonly SecretRef[]): string {
  const rows = secrets.map((s) => [
    s.name,
    s.type || '-',
    'agent (SDS)',
    s.usedBy.length > 2
      ? `${s.usedBy.slice(0, 2).join(', ')} +${String(s.usedBy.length - 2)} more`
      : s.usedBy.join(', '),
  ]);
  return table(['RESOURCE NAME', 'TYPE', 'SERVED BY', 'USED BY'], rows);
}

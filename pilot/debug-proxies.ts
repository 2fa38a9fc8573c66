/**
 * The operator pages about connected proxies (lib/xds/debug-pages.ts has their shapes):
 * `/debug/proxy_status` (each stream's proxy and the state of each type) and `/debug/config_dump`
 * (what one proxy holds: the resources of its last ACK of each type, and the SDS secrets they
 * name). Pure reads of the discovery server; no I/O.
 */
import { isObject, type JsonObject, type JsonValue } from '../lib/json.ts';
import {
  XdsShortNames,
  type ConfigDumpPage,
  type HeldType,
  type ProxyKindName,
  type ProxyStatusPage,
  type ProxySync,
  type SecretRef,
  type TypeSync,
  type XdsShortName,
} from '../lib/xds/debug-pages.ts';
import { anyToJson } from '../lib/xds/json-view.ts';
import { XdsTypeShort } from '../lib/xds/type-urls.ts';
import type { Proxy } from './model/proxy.ts';
import type { MeshBuild } from './snapshot/mesh-build.ts';
import type { Connection, TypeStatus } from './xds/connection.ts';
import type { DiscoveryServer } from './xds/discovery.ts';

/** A page's answer: an HTTP status and a JSON body. */
export interface DebugAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Addresses of VMs: Kubernetes endpoints with no pod behind them (WorkloadEntries), at an address
 * no pod endpoint has.
 */
function vmAddresses(build: MeshBuild | undefined): ReadonlySet<string> {
  const entries = new Set<string>();
  const pods = new Set<string>();
  if (!build) return entries;
  for (const [host, eps] of build.state.endpoints) {
    if (build.state.services.get(host)?.registry !== 'Kubernetes') continue;
    for (const e of eps) (e.pod === undefined ? entries : pods).add(e.address);
  }
  for (const a of pods) entries.delete(a);
  return entries;
}

function kindOf(p: Proxy, vms: ReadonlySet<string>): ProxyKindName {
  switch (p.kind) {
    case 'router':
      return 'gateway';
    case 'grpc':
      return 'proxyless';
    case 'sidecar': {
      const group = p.metadata['AUTO_REGISTER_GROUP'];
      const vm =
        (typeof group === 'string' && group !== '') || (p.ip !== undefined && vms.has(p.ip));
      return vm ? 'vm' : 'sidecar';
    }
  }
}

function nameOf(p: Proxy): string {
  if (p.pod !== undefined) {
    const suffix = `.${p.namespace}`;
    return p.pod.endsWith(suffix) ? p.pod.slice(0, -suffix.length) : p.pod;
  }
  const n = p.metadata['NAME'];
  return typeof n === 'string' && n !== '' ? n : p.id;
}

function describeProxy(c: Connection, p: Proxy, vms: ReadonlySet<string>) {
  return {
    id: p.id,
    name: nameOf(p),
    namespace: p.namespace,
    kind: kindOf(p, vms),
    ip: p.ip ?? null,
    connectedAt: new Date(c.connectedAt).toISOString(),
    mode: c.mode,
  };
}

const notSent: TypeSync = { state: 'NOT SENT', sent: '', acked: '', nack: null };

function typeSync(t: TypeStatus | undefined): TypeSync {
  if (!t) return notSent;
  const n = t.lastNack;
  return {
    state: t.state,
    sent: t.sentVersion,
    acked: t.ackedVersion,
    nack: n ? { version: n.version, message: n.message, at: new Date(n.at).toISOString() } : null,
  };
}

function perType<T>(get: (t: XdsShortName) => T): Record<XdsShortName, T> {
  return { CDS: get('CDS'), EDS: get('EDS'), LDS: get('LDS'), RDS: get('RDS') };
}

export function proxyStatusPage(discovery: DiscoveryServer, pilot: string): ProxyStatusPage {
  const vms = vmAddresses(discovery.current());
  const proxies: ProxySync[] = [];
  for (const c of discovery.streams()) {
    const p = c.proxy;
    if (!p) continue;
    const types = c.status().types;
    proxies.push({ ...describeProxy(c, p, vms), pilot, types: perType((t) => typeSync(types[t])) });
  }
  return { pilot, version: discovery.current()?.version ?? null, proxies };
}

/**
 * Finds a connected proxy by node id, `pod.namespace`, or a pod name alone when one namespace has
 * it; an ambiguous name is an error listing the candidates.
 */
export function findStream(
  discovery: DiscoveryServer,
  ref: string,
): { conn: Connection; proxy: Proxy } | { error: string } {
  const all = discovery.streams().flatMap((c) => (c.proxy ? [{ conn: c, proxy: c.proxy }] : []));
  const exact = all.filter(
    (x) => x.proxy.id === ref || `${nameOf(x.proxy)}.${x.proxy.namespace}` === ref,
  );
  const found = exact.length > 0 ? exact : all.filter((x) => nameOf(x.proxy) === ref);
  // The newest stream of a proxy that reconnected is the one that holds its config.
  const newest = found.sort((a, b) => b.conn.connectedAt - a.conn.connectedAt);
  const ids = new Set(newest.map((x) => x.proxy.id));
  if (ids.size > 1) {
    return { error: `"${ref}" names several proxies: ${[...ids].sort().join(', ')}` };
  }
  const first = newest[0];
  return first ?? { error: `no proxy "${ref}" is connected` };
}

/** What a secret is to the config naming it: its own certificate, or roots to check peers. */
function secretRole(key: string): 'Cert Chain' | 'CA' | undefined {
  if (key.startsWith('tls_certificate_sds_secret_config')) return 'Cert Chain';
  if (key.startsWith('validation_context_sds_secret_config')) return 'CA';
  return undefined;
}

/** Every SDS secret a resource names (the TLS contexts of clusters and listeners), by role. */
function secretNames(v: JsonValue, out: Map<string, string>, role?: string): void {
  if (Array.isArray(v)) {
    for (const x of v) secretNames(x, out, role);
    return;
  }
  if (!isObject(v)) return;
  if (role !== undefined && typeof v['name'] === 'string') out.set(v['name'], role);
  for (const [k, x] of Object.entries(v)) secretNames(x, out, secretRole(k));
}

function secretsOf(types: Readonly<Record<XdsShortName, HeldType>>): SecretRef[] {
  const byName = new Map<string, { type: string; usedBy: string[] }>();
  for (const t of ['CDS', 'LDS'] as const) {
    for (const r of types[t].resources) {
      const names = new Map<string, string>();
      secretNames(r, names);
      const owner = typeof r['name'] === 'string' ? r['name'] : '';
      for (const [n, type] of names) {
        const cur = byName.get(n) ?? { type, usedBy: [] };
        cur.usedBy.push(owner);
        byName.set(n, cur);
      }
    }
  }
  return [...byName]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, x]) => ({ name, type: x.type, usedBy: x.usedBy }));
}

function heldJson(any: Uint8Array): JsonObject | undefined {
  // An incremental client's "already held" entries carry a version and no content.
  return any.length === 0 ? undefined : (anyToJson(any) as JsonObject);
}

export function configDumpPage(
  discovery: DiscoveryServer,
  pilot: string,
  ref: string,
  only?: string,
): DebugAnswer {
  if (only !== undefined && !(XdsShortNames as readonly string[]).includes(only)) {
    return {
      status: 400,
      body: { error: `type "${only}" is not one of ${XdsShortNames.join(', ')}` },
    };
  }
  const found = findStream(discovery, ref);
  if ('error' in found) return { status: 404, body: { error: `${found.error} (Pilot ${pilot})` } };
  const held = new Map<string, HeldType>();
  for (const [t, h] of found.conn.held()) {
    const resources: JsonObject[] = [];
    for (const r of h.resources) {
      const json = heldJson(r.any);
      if (json) resources.push(json);
    }
    held.set(XdsTypeShort[t], { version: h.version, resources });
  }
  const types = perType((t) =>
    only !== undefined && only !== t
      ? { version: '', resources: [] }
      : (held.get(t) ?? { version: '', resources: [] }),
  );
  const page: ConfigDumpPage = {
    pilot,
    proxy: describeProxy(found.conn, found.proxy, vmAddresses(discovery.current())),
    types,
    secrets: secretsOf(types),
  };
  return { status: 200, body: page };
}

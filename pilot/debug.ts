/**
 * Pilot's debug pages on its HTTP port, JSON throughout:
 * - `/debug/syncz`: per stream, per type: versions sent and ACKed, nonce, last NACK and its message.
 * - `/debug/adsz`: the connected proxies (the snapshot each was given, and the one it holds in
 *   full), and the last push.
 * - `/debug/configz`: the current mesh build (mesh config, services and endpoint counts, the
 *   traffic config applied, and one line per RouteRule & co. that could not be applied);
 *   `?proxy=<node id>` dumps that proxy's snapshot as JSON (`&type=CDS|EDS|LDS|RDS` to narrow).
 * - `/debug/registryz`: each service registry in `--registries` order (state, source, last
 *   successful sync, last error, services), the hostnames more than one has, and one status line
 *   per registry not serving a fresh view and per clash.
 * - `/debug/proxy_status` and `/debug/config_dump?proxyID=<id|pod.ns>[&type=CDS]`: the operator
 *   pages of `istio-lite proxy-status` and `proxy-config` (pilot/debug-proxies.ts).
 *
 * Every page is a function of its query, so the same pages answer over ADS (type `istio.io/debug`,
 * the page and its query as the one resource name) for clients that reach only the xDS port.
 */
import type { ExtraPages } from '../lib/ops-server.ts';
import { anyToJson } from '../lib/xds/json-view.ts';
import { XdsTypeOrder, XdsTypeShort } from '../lib/xds/type-urls.ts';
import { configKey } from './config/model.ts';
import { configDumpPage, proxyStatusPage, type DebugAnswer } from './debug-proxies.ts';
import { parseProxy } from './model/proxy.ts';
import { buildProxySnapshot } from './snapshot/proxy-snapshot.ts';
import { conflictLine, statusLine, type RegistryReport } from './registry/aggregate.ts';
import type { DiscoveryServer } from './xds/discovery.ts';

export type { DebugAnswer } from './debug-proxies.ts';

/** Answers one page (`syncz`, `config_dump`…) for its query; undefined for an unknown page. */
export type DebugPages = (page: string, query: URLSearchParams) => DebugAnswer | undefined;

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

const ok = (body: unknown): DebugAnswer => ({ status: 200, body });

export function debugPages(
  discovery: DiscoveryServer,
  registries: RegistryReport,
  instance: string,
): DebugPages {
  const pages: Record<string, (q: URLSearchParams) => DebugAnswer> = {
    registryz: () => registryz(registries),
    syncz: () => ok(discovery.connections()),
    adsz: () => adsz(discovery),
    configz: (q) => configz(discovery, q),
    proxy_status: () => ok(proxyStatusPage(discovery, instance)),
    config_dump: (q) => {
      const id = q.get('proxyID');
      if (id === null || id === '') {
        return { status: 400, body: { error: 'proxyID is required (a node id or pod.namespace)' } };
      }
      return configDumpPage(discovery, instance, id, q.get('type') ?? undefined);
    },
  };
  return (page, query) => (Object.hasOwn(pages, page) ? pages[page]?.(query) : undefined);
}

/** The pages under `/debug/<page>` of Pilot's HTTP port. */
export function debugOverHttp(pages: DebugPages): ExtraPages {
  return (path, query) => {
    const m = /^\/debug\/([^/]+)\/?$/.exec(path);
    if (m?.[1] === undefined) return undefined;
    let page: string;
    try {
      page = decodeURIComponent(m[1]);
    } catch {
      return { status: 400, body: { error: `malformed page name ${m[1]}` } };
    }
    return pages(page, query);
  };
}

/**
 * A debug request over ADS: its one resource name is the page with its query
 * (`config_dump?proxyID=…`), as Istio's debug generator takes it.
 */
export function debugOverAds(pages: DebugPages, resourceName: string): DebugAnswer {
  const url = new URL(resourceName.replace(/^\/?(debug\/)?/, '/'), 'http://pilot');
  return (
    pages(url.pathname.slice(1), url.searchParams) ?? {
      status: 404,
      body: { error: `no debug page "${resourceName}"` },
    }
  );
}

function registryz(registries: RegistryReport): DebugAnswer {
  const now = Date.now();
  const statuses = registries.statuses();
  const conflicts = registries.conflicts();
  return ok({
    registries: statuses.map((s) => ({
      name: s.name,
      source: s.source ?? null,
      state: s.state,
      lastSync: iso(s.lastSyncMs),
      lastError: s.lastError ?? null,
      lastErrorAt: iso(s.lastErrorMs),
      downSince: iso(s.downSinceMs),
      services: s.services,
    })),
    conflicts,
    status: [...statuses.flatMap((s) => statusLine(s, now) ?? []), ...conflicts.map(conflictLine)],
  });
}

function adsz(discovery: DiscoveryServer): DebugAnswer {
  const conns = discovery.connections();
  return ok({
    connected: conns.length,
    lastPush: discovery.lastPushInfo() ?? null,
    proxies: conns.map((c) => ({
      id: c.id,
      proxy: c.proxy ?? null,
      kind: c.kind ?? null,
      connectedAt: c.connectedAt,
      snapshotVersion: c.snapshotVersion ?? null,
      syncedVersion: c.syncedVersion ?? null,
    })),
  });
}

function configz(discovery: DiscoveryServer, q: URLSearchParams): DebugAnswer {
  const build = discovery.current();
  if (!build) {
    return { status: 503, body: { error: discovery.notReady() ?? 'no snapshot built yet' } };
  }
  const proxyId = q.get('proxy') ?? undefined;
  if (proxyId === undefined) {
    const services = [...build.state.services.values()].map((s) => {
      const eps = build.state.endpoints.get(s.hostname) ?? [];
      return {
        hostname: s.hostname,
        registry: s.registry,
        clusterIP: s.clusterIP ?? 'None',
        ports: s.ports,
        endpoints: eps.length,
        ready: eps.filter((e) => e.ready).length,
      };
    });
    const t = build.traffic;
    const problemOf = new Map(t.problems.map((p) => [configKey(p.meta), p] as const));
    return ok({
      version: build.version,
      changedAt: new Date(build.changedAt).toISOString(),
      mesh: build.ctx.mesh,
      services,
      config: {
        applied: t.applied.map((m) => configKey(m)),
        // One line per object that could not be applied: what, why.
        problems: t.problems.map((p) => `${configKey(p.meta)}: ${p.reason}: ${p.message}`),
        notes: build.notes,
        subsets: Object.fromEntries(
          [...t.hosts].map(([h, x]) => [h, x.subsets.map((s) => s.name)] as const),
        ),
        // Each RouteRule with its destination and whether it applied (the dashboard's per service view).
        routeRules: [
          ...build.config.routeRules.map((r) => {
            const p = problemOf.get(configKey(r.meta));
            return {
              namespace: r.meta.namespace,
              name: r.meta.name,
              destination: r.destination,
              precedence: r.precedence,
              applied: p === undefined,
              reason: p?.reason ?? null,
              message: p?.message ?? null,
            };
          }),
          ...build.config.rejected
            .filter((p) => p.meta.kind === 'RouteRule')
            .map((p) => ({
              namespace: p.meta.namespace,
              name: p.meta.name,
              destination: null,
              precedence: null,
              applied: false,
              reason: p.reason,
              message: p.message,
            })),
        ],
      },
    });
  }
  let proxy;
  try {
    proxy = parseProxy(proxyId, q.get('generator') === 'grpc' ? { GENERATOR: 'grpc' } : {});
  } catch (e) {
    return { status: 400, body: { error: e instanceof Error ? e.message : String(e) } };
  }
  const snap = buildProxySnapshot(build, proxy);
  const only = q.get('type') ?? undefined;
  const out: Record<string, unknown[]> = {};
  for (const t of XdsTypeOrder) {
    const short = XdsTypeShort[t];
    if (only !== undefined && only !== short) continue;
    out[short] = [...(snap.resources.get(t)?.values() ?? [])].map((r) => anyToJson(r.any));
  }
  return ok({ version: snap.version, proxy: proxy.id, kind: proxy.kind, resources: out });
}

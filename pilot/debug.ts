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
 */
import type { Express, Request } from 'express';
import { anyToJson } from '../lib/xds/json-view.ts';
import { XdsTypeOrder, XdsTypeShort } from '../lib/xds/type-urls.ts';
import { configKey } from './config/model.ts';
import { parseProxy } from './model/proxy.ts';
import { buildProxySnapshot } from './snapshot/proxy-snapshot.ts';
import { conflictLine, statusLine, type RegistryReport } from './registry/aggregate.ts';
import type { DiscoveryServer } from './xds/discovery.ts';

function query(req: Request, name: string): string | undefined {
  const v = req.query[name];
  return typeof v === 'string' ? v : undefined;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export function mountDebug(
  app: Express,
  discovery: DiscoveryServer,
  registries: RegistryReport,
): void {
  app.get('/debug/registryz', (_req, res) => {
    const now = Date.now();
    const statuses = registries.statuses();
    const conflicts = registries.conflicts();
    res.json({
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
      status: [
        ...statuses.flatMap((s) => statusLine(s, now) ?? []),
        ...conflicts.map(conflictLine),
      ],
    });
  });

  app.get('/debug/syncz', (_req, res) => {
    res.json(discovery.connections());
  });

  app.get('/debug/adsz', (_req, res) => {
    const conns = discovery.connections();
    res.json({
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
  });

  app.get('/debug/configz', (req, res) => {
    const build = discovery.current();
    if (!build) {
      res.status(503).json({ error: discovery.notReady() ?? 'no snapshot built yet' });
      return;
    }
    const proxyId = query(req, 'proxy');
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
      res.json({
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
        },
      });
      return;
    }
    let proxy;
    try {
      proxy = parseProxy(proxyId, query(req, 'generator') === 'grpc' ? { GENERATOR: 'grpc' } : {});
    } catch (e) {
      res.status(400).json({ error: e instanceof Error ? e.message : String(e) });
      return;
    }
    const snap = buildProxySnapshot(build, proxy);
    const only = query(req, 'type');
    const out: Record<string, unknown[]> = {};
    for (const t of XdsTypeOrder) {
      const short = XdsTypeShort[t];
      if (only !== undefined && only !== short) continue;
      out[short] = [...(snap.resources.get(t)?.values() ?? [])].map((r) => anyToJson(r.any));
    }
    res.json({ version: snap.version, proxy: proxy.id, kind: proxy.kind, resources: out });
  });
}

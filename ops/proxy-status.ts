/**
 * `istio-lite proxy-status`: every proxy connected to every Pilot replica, one line each, with the
 * state of CDS, LDS, EDS and RDS and the replica it is on (lib/xds/debug-pages.ts). A replica that
 * cannot be read is reported and the others are still shown; when none can be, it is an error.
 */
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { parseProxyStatusPage, type ProxySync } from '../lib/xds/debug-pages.ts';
import { readPage, type ControlPlane } from './control-plane.ts';
import { table } from './table.ts';

export interface ProxyStatus {
  readonly proxies: readonly ProxySync[];
  /** The replicas read. */
  readonly pilots: readonly string[];
  /** The replicas that could not be read, and why. */
  readonly failures: readonly { readonly pilot: string; readonly message: string }[];
}

export async function collectProxyStatus(plane: ControlPlane): Promise<ProxyStatus> {
  const replicas = await plane.pilots();
  const results = await Promise.all(
    replicas.map(async (r) => {
      try {
        return {
          pilot: r.name,
          page: parseProxyStatusPage(
            await readPage(r, 'proxy_status'),
            `Pilot ${r.name}: proxy_status`,
          ),
        };
      } catch (e) {
        return { pilot: r.name, message: errorMessage(e) };
      }
    }),
  );
  const proxies: ProxySync[] = [];
  const failures: { pilot: string; message: string }[] = [];
  for (const x of results) {
    const page = 'page' in x ? x.page : undefined;
    if (page) proxies.push(...page.proxies.map((p) => ({ ...p, pilot: page.pilot })));
    else if ('message' in x) failures.push({ pilot: x.pilot, message: x.message });
  }
  if (failures.length === replicas.length) {
    throw new IstioLiteError(
      ErrorCode.External,
      failures.length === 1
        ? (failures[0]?.message ?? '')
        : `no Pilot replica could be read:\n${failures.map((f) => `  ${f.pilot}: ${f.message}`).join('\n')}`,
    );
  }
  proxies.sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name) ||
      a.pilot.localeCompare(b.pilot),
  );
  return { proxies, pilots: results.map((r) => r.pilot), failures };
}

/** `name.namespace`, the form `proxy-config` takes. */
export function proxyRef(p: Pick<ProxySync, 'name' | 'namespace'>): string {
  return `${p.name}.${p.namespace}`;
}

/** The table, and with `details` each NACK's message below it. */
export function proxyStatusText(s: ProxyStatus, details: boolean): string {
  const rows = s.proxies.map((p) => [
    proxyRef(p),
    p.namespace,
    p.kind,
    p.types.CDS.state,
    p.types.LDS.state,
    p.types.EDS.state,
    p.types.RDS.state,
    p.pilot,
  ]);
  let out =
    s.proxies.length === 0
      ? `no proxies connected to ${s.pilots.join(', ')}\n`
      : table(['NAME', 'NAMESPACE', 'KIND', 'CDS', 'LDS', 'EDS', 'RDS', 'PILOT'], rows);
  if (details) {
    for (const p of s.proxies) {
      for (const t of ['CDS', 'LDS', 'EDS', 'RDS'] as const) {
        const n = p.types[t].nack;
        if (!n) continue;
        const now =
          p.types[t].state === 'NACKED' ? 'NACKED' : `NACKED earlier, now ${p.types[t].state}`;
        out += `${proxyRef(p)} ${t} ${now} (version ${n.version}, ${n.at}): ${n.message}\n`;
      }
    }
  }
  return out;
}

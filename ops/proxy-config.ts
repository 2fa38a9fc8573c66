/**
 * `istio-lite proxy-config cluster|listener|route|endpoint|secret POD[.NAMESPACE]`: what one proxy
 * holds, as Pilot last sent it and the proxy ACKed it. The proxy is looked up on every Pilot
 * replica's proxy_status (by `name.namespace`, node id, or name with `-n`), then the replica it is
 * connected to is asked for its config dump.
 */
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import type { JsonObject } from '../lib/json.ts';
import {
  parseConfigDumpPage,
  type ConfigDumpPage,
  type ProxySync,
} from '../lib/xds/debug-pages.ts';
import { toYaml } from '../lib/yaml.ts';
import {
  clusterTable,
  endpointTable,
  listenerTable,
  routeTable,
  secretTable,
} from './config-tables.ts';
import { readPage, type ControlPlane } from './control-plane.ts';
import { collectProxyStatus, proxyRef } from './proxy-status.ts';

export const ConfigKinds = ['cluster', 'listener', 'route', 'endpoint', 'secret'] as const;
export type ConfigKind = (typeof ConfigKinds)[number];

export const OutputFormats = ['short', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OutputFormats)[number];

/** Finds the one proxy `ref` names among every replica's proxies. */
export function pickProxy(
  proxies: readonly ProxySync[],
  ref: string,
  namespace?: string,
): ProxySync {
  const exact = proxies.filter((p) => p.id === ref || proxyRef(p) === ref);
  const byName = proxies.filter(
    (p) => p.name === ref && (namespace === undefined || p.namespace === namespace),
  );
  const found = exact.length > 0 ? exact : byName;
  const ids = [...new Set(found.map((p) => proxyRef(p)))].sort();
  if (found.length === 0) {
    const where = namespace === undefined ? '' : ` in namespace ${namespace}`;
    throw new IstioLiteError(
      ErrorCode.InvalidInput,
      `no proxy "${ref}"${where} is connected to any Pilot (\`istio-lite proxy-status\` lists them)`,
    );
  }
  if (ids.length > 1) {
    throw new IstioLiteError(
      ErrorCode.InvalidInput,
      `"${ref}" names several proxies: ${ids.join(', ')}; give POD.NAMESPACE`,
    );
  }
  // A proxy on two replicas (it reconnected): the newest stream holds its config.
  const newest = [...found].sort((a, b) => b.connectedAt.localeCompare(a.connectedAt))[0];
  if (!newest) throw new IstioLiteError(ErrorCode.Internal, 'unreachable: no proxy found');
  return newest;
}

export async function readConfigDump(
  plane: ControlPlane,
  ref: string,
  namespace?: string,
): Promise<ConfigDumpPage> {
  const status = await collectProxyStatus(plane);
  const proxy = pickProxy(status.proxies, ref, namespace);
  const replicas = await plane.pilots();
  // Local and --xdsAddress replicas are named by address, pods by pod name; both by `pilot` too.
  const replica = replicas.find((r) => r.name === proxy.pilot) ?? replicas[0];
  if (!replica) throw new IstioLiteError(ErrorCode.External, 'no Pilot replica to read');
  const page = `config_dump?proxyID=${encodeURIComponent(proxy.id)}`;
  return parseConfigDumpPage(await readPage(replica, page), `Pilot ${replica.name}: config_dump`);
}

function resourcesOf(dump: ConfigDumpPage, kind: ConfigKind): readonly JsonObject[] {
  switch (kind) {
    case 'cluster':
      return dump.types.CDS.resources;
    case 'listener':
      return dump.types.LDS.resources;
    case 'route':
      return dump.types.RDS.resources;
    case 'endpoint':
      return dump.types.EDS.resources;
    case 'secret':
      return dump.secrets.map((s) => ({ name: s.name, type: s.type, usedBy: [...s.usedBy] }));
  }
}

export function configText(dump: ConfigDumpPage, kind: ConfigKind, format: OutputFormat): string {
  const resources = resourcesOf(dump, kind);
  switch (format) {
    case 'json':
      return `${JSON.stringify(resources, null, 2)}\n`;
    case 'yaml':
      return toYaml(resources);
    case 'short':
      switch (kind) {
        case 'cluster':
          return clusterTable(resources);
        case 'listener':
          return listenerTable(resources);
        case 'route':
          return routeTable(resources);
        case 'endpoint':
          return endpointTable(resources);
        case 'secret':
          return secretTable(dump.secrets);
      }
  }
}

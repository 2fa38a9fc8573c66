/**
 * Probe rewriting: with mTLS or capture in front of the app, the kubelet's probes cannot reach it
 * directly, so HTTP, TCP and gRPC probes become HTTP GETs on the agent's status port at
 * `/app-health/<container>/readyz|livez|startupz`, and the originals travel to the agent in the
 * `ISTIO_KUBE_APP_PROBERS` env var (a JSON map from that path to the original action).
 */
import { isObject, type JsonObject, type JsonValue } from '../lib/json.ts';

export const proberEnvName = 'ISTIO_KUBE_APP_PROBERS';
export const rewriteAnnotation = 'sidecar.istio.io/rewriteAppHTTPProbers';

const probeKinds = [
  ['readinessProbe', 'readyz'],
  ['livenessProbe', 'livez'],
  ['startupProbe', 'startupz'],
] as const;

const actions = ['httpGet', 'tcpSocket', 'grpc'] as const;

export type Probers = Record<string, JsonObject>;

function resolvePort(container: JsonObject, port: JsonValue | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port !== 'string') return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  const ports = container['ports'];
  if (!Array.isArray(ports)) return undefined;
  for (const p of ports) {
    if (isObject(p) && p['name'] === port && typeof p['containerPort'] === 'number') {
      return p['containerPort'];
    }
  }
  return undefined;
}

function isRewritten(probe: JsonObject, statusPort: number): boolean {
  const h = probe['httpGet'];
  return (
    isObject(h) &&
    h['port'] === statusPort &&
    typeof h['path'] === 'string' &&
    h['path'].startsWith('/app-health/')
  );
}

/**
 * Rewrites the probes of `containers` in place and returns the new prober entries. Probes already
 * pointing at the status port are left alone (idempotent); exec probes are never rewritten; a probe
 * whose named port does not exist stays as it is, with a warning.
 */
export function rewriteProbes(
  containers: readonly JsonObject[],
  statusPort: number,
  warnings: string[],
): Probers {
  const probers: Probers = {};
  for (const c of containers) {
    const name = typeof c['name'] === 'string' ? c['name'] : '';
    for (const [kind, suffix] of probeKinds) {
      const probe = c[kind];
      if (!isObject(probe) || isRewritten(probe, statusPort)) continue;
      const action = actions.find((a) => isObject(probe[a]));
      if (action === undefined) continue;
      const original = probe[action] as JsonObject;
      const port = resolvePort(c, original['port']);
      if (port === undefined) {
        warnings.push(
          `container ${name}: ${kind} port ${JSON.stringify(original['port'])} not found; probe not rewritten`,
        );
        continue;
      }
      const path = `/app-health/${name}/${suffix}`;
      probers[path] = {
        [action]: { ...original, port },
        timeoutSeconds: typeof probe['timeoutSeconds'] === 'number' ? probe['timeoutSeconds'] : 1,
      };
      const rewritten: JsonObject = {};
      for (const [k, v] of Object.entries(probe)) {
        if (k === action) rewritten['httpGet'] = { path, port: statusPort, scheme: 'HTTP' };
        else if (!(actions as readonly string[]).includes(k)) rewritten[k] = v;
      }
      c[kind] = rewritten;
    }
  }
  return probers;
}

/** The prober map already in a proxy container's env, if any. */
export function existingProbers(proxy: JsonObject): Probers {
  const env = proxy['env'];
  if (!Array.isArray(env)) return {};
  for (const e of env) {
    if (isObject(e) && e['name'] === proberEnvName && typeof e['value'] === 'string') {
      try {
        const v: unknown = JSON.parse(e['value']);
        if (isObject(v)) {
          const out: Probers = {};
          for (const [k, x] of Object.entries(v)) if (isObject(x)) out[k] = x;
          return out;
        }
      } catch {
        return {};
      }
    }
  }
  return {};
}

/** Sets (or replaces) the prober env var on the proxy container; nothing when there are none. */
export function setProberEnv(proxy: JsonObject, probers: Probers): void {
  if (Object.keys(probers).length === 0) return;
  const env: JsonValue[] = Array.isArray(proxy['env']) ? proxy['env'] : [];
  const value = JSON.stringify(probers);
  const i = env.findIndex((e) => isObject(e) && e['name'] === proberEnvName);
  const entry = { name: proberEnvName, value };
  if (i >= 0) env[i] = entry;
  else env.push(entry);
  proxy['env'] = env;
}

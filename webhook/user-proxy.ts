/**
 * A pod may declare its own `istio-proxy` container to customise the injected one (as in Istio):
 * every field the user set wins; `env`, `ports` and `volumeMounts` merge by name (and mount path),
 * the user's entry replacing the injected one.
 */
import { isObject, type JsonObject, type JsonValue } from '../lib/json.ts';

const keyedLists: Readonly<Record<string, string>> = {
  env: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
};

function mergeList(base: JsonValue | undefined, user: JsonValue, key: string): JsonValue {
  if (!Array.isArray(base) || !Array.isArray(user)) return user;
  const out = [...base];
  for (const u of user) {
    const i = isObject(u) ? out.findIndex((b) => isObject(b) && b[key] === u[key]) : -1;
    if (i >= 0) out[i] = u;
    else out.push(u);
  }
  return out;
}

export function mergeUserProxy(injected: JsonObject, user: JsonObject | undefined): JsonObject {
  if (user === undefined) return injected;
  const out: JsonObject = { ...injected };
  for (const [k, v] of Object.entries(user)) {
    const listKey = keyedLists[k];
    out[k] = listKey === undefined ? v : mergeList(injected[k], v, listKey);
  }
  return out;
}

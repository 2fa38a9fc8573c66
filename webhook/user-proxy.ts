/**
 * A pod may declare its own `istio-proxy` container to customise the injected one (as in Istio):
 * every field the user set wins, objects (resources, securityContext) merge field by field, and
 * `env`, `ports` and `volumeMounts` merge by name (port, mount path), the user's entry replacing
 * the injected one, much like a strategic merge patch.
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

function mergeObjects(base: JsonObject, user: JsonObject, top: boolean): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(user)) {
    const b = base[k];
    const listKey = top ? keyedLists[k] : undefined;
    if (listKey !== undefined) out[k] = mergeList(b, v, listKey);
    else if (isObject(b) && isObject(v)) out[k] = mergeObjects(b, v, false);
    else out[k] = v;
  }
  return out;
}

export function mergeUserProxy(injected: JsonObject, user: JsonObject | undefined): JsonObject {
  return user === undefined ? injected : mergeObjects(injected, user, true);
}

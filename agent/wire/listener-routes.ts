/**
 * The route configurations a Listener asks for over RDS: every HTTP connection manager in its
 * filter chains (and in an API listener, as proxyless gRPC clients get) that names
 * `rds.route_config_name`. The readiness gate waits for each of them to be ACKed.
 */
import { decodeWith, list, msg, str, type Schema } from './decode.ts';

const HcmType =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const protoAny: Schema = {
  1: { name: 'type_url', kind: 'string' },
  2: { name: 'value', kind: 'bytes' },
};

const filter: Schema = {
  1: { name: 'name', kind: 'string' },
  4: { name: 'typed_config', kind: { message: protoAny } },
};

const filterChain: Schema = { 3: { name: 'filters', kind: { message: filter }, repeated: true } };

const listener: Schema = {
  3: { name: 'filter_chains', kind: { message: filterChain }, repeated: true },
  19: {
    name: 'api_listener',
    kind: { message: { 1: { name: 'api_listener', kind: { message: protoAny } } } },
  },
  25: { name: 'default_filter_chain', kind: { message: filterChain } },
};

const hcm: Schema = {
  3: { name: 'rds', kind: { message: { 2: { name: 'route_config_name', kind: 'string' } } } },
};

function rdsName(a: unknown): string | undefined {
  const m = msg(a);
  if (str(m['type_url']) !== HcmType || !(m['value'] instanceof Uint8Array)) return undefined;
  const name = str(msg(decodeWith(hcm, m['value'])['rds'])['route_config_name']);
  return name === '' ? undefined : name;
}

export function routeNamesOf(listenerBytes: Uint8Array): string[] {
  const l = decodeWith(listener, listenerBytes);
  const chains = [...list(l['filter_chains'])];
  if (l['default_filter_chain'] !== undefined) chains.push(l['default_filter_chain']);
  const anys: unknown[] = chains.flatMap((c) =>
    list(msg(c)['filters']).map((f) => msg(f)['typed_config']),
  );
  const api = msg(l['api_listener'])['api_listener'];
  if (api !== undefined) anys.push(api);
  const names = new Set<string>();
  for (const a of anys) {
    const n = rdsName(a);
    if (n !== undefined) names.add(n);
  }
  return [...names];
}

/**
 * How an unmodified Envoy's calls become Mixer attributes: ext_authz CheckRequests (HTTP and
 * network filters), access log entries (HTTP and TCP) and rate limit descriptors. Shared by Mixer
 * and the agent. Input is the decoded message (untrusted; fields may be missing).
 *
 * Envoy does not know Mixer's vocabulary, so attributes it cannot see (destination.service,
 * workload labels) travel in string maps Envoy forwards as configured: ext_authz
 * `context_extensions`, access log `custom_tags`, and rate limit descriptor entries. A key that is
 * an attribute name sets that attribute (`destination.service`, `destination.port: "9080"`); a key
 * `<map attribute>.<key>` sets one entry (`source.labels.app: reviews`).
 *
 * Where Envoy runs decides what its addresses are. In a sidecar the downstream peer is the source
 * and the local address the destination. At a gateway (the `gateway*` variants) the gateway itself
 * is the source (its agent adds who it is, agent/mixer/reporter.ts): the downstream peer, a client
 * outside the mesh or a sidecar, is the origin (`origin.ip`), and the destination is the upstream
 * host the request went to (access logs only: a check comes before routing, so only the
 * `destination.service` the route carries is known).
 */
import { durationMs, isDuration } from '../config/values.ts';
import type { MutableAttributes } from './attribute-bag.ts';
import { Duration, IpAddress, ValueType, type Value } from './value.ts';
import { attributeType } from './vocabulary.ts';

type Rec = Record<string, unknown>;

function rec(v: unknown): Rec | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function protoMs(v: unknown): number | undefined {
  const r = rec(v);
  if (!r) return undefined;
  const s = num(r['seconds']) ?? 0;
  const n = num(r['nanos']) ?? 0;
  return s * 1000 + n / 1e6;
}

function stringMap(v: unknown): Map<string, string> | undefined {
  const r = rec(v);
  if (!r) return undefined;
  const m = new Map<string, string>();
  for (const [k, x] of Object.entries(r)) if (typeof x === 'string') m.set(k.toLowerCase(), x);
  return m;
}

function setIf(bag: Map<string, Value>, name: string, v: Value | undefined): void {
  if (v !== undefined) bag.set(name, v);
}

/** `address.socket_address.{address, port_value}` → `<prefix>.ip` and `<prefix>.port`. */
function address(bag: Map<string, Value>, prefix: string, v: unknown, withPort = true): void {
  const sa = rec(rec(v)?.['socket_address']);
  if (!sa) return;
  const ip = str(sa['address']);
  setIf(bag, `${prefix}.ip`, ip === undefined ? undefined : IpAddress.parse(ip));
  if (!withPort) return;
  const port = num(sa['port_value']);
  if (port !== undefined && port > 0) bag.set(`${prefix}.port`, port);
}

/** Parses a text value as the attribute's vocabulary type; undefined when it does not fit. */
export function parseAttributeText(name: string, text: string): Value | undefined {
  return parseTyped(attributeType(name), text);
}

function parseTyped(type: ValueType | undefined, text: string): Value | undefined {
  switch (type) {
    case undefined:
      return undefined;
    case ValueType.STRING:
      return text;
    case ValueType.INT64:
      return /^-?\d+$/.test(text) ? Number(text) : undefined;
    case ValueType.DOUBLE: {
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
    }
    case ValueType.BOOL:
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case ValueType.IP_ADDRESS:
      return IpAddress.parse(text);
    case ValueType.DURATION:
      return isDuration(text) ? new Duration(durationMs(text)) : undefined;
    case ValueType.TIMESTAMP: {
      const d = new Date(text);
      return Number.isNaN(d.getTime()) ? undefined : d;
    }
    case ValueType.BYTES:
      return Buffer.from(text, 'base64');
    case ValueType.STRING_MAP:
      return undefined;
  }
}

/** What a carrier key names: an attribute (its type), and/or one entry of a string map. */
interface CarrierKey {
  readonly type: ValueType | undefined;
  readonly map: string | undefined;
  readonly entry: string;
}

/** Carrier keys seen (a route's extensions repeat on every check); cleared past 4,096. */
const carrierKeys = new Map<string, CarrierKey>();

function carrierKey(key: string): CarrierKey {
  let k = carrierKeys.get(key);
  if (k === undefined) {
    const dot = key.lastIndexOf('.');
    const mapName = key.slice(0, dot);
    const isMap = dot > 0 && attributeType(mapName) === ValueType.STRING_MAP;
    k = { type: attributeType(key), map: isMap ? mapName : undefined, entry: key.slice(dot + 1) };
    if (carrierKeys.size >= 4096) carrierKeys.clear();
    carrierKeys.set(key, k);
  }
  return k;
}

/**
 * Applies carrier entries (context_extensions, custom_tags, descriptor entries) to `bag`. A key
 * `<map attribute>.<key>` adds to a copy of the bag's map, unless `ownMaps`: the caller made every
 * map in `bag` for this bag alone, so they are added to in place (no copy per entry).
 */
export function applyCarrier(
  bag: Map<string, Value>,
  entries: Iterable<[string, string]>,
  ownMaps = false,
): void {
  for (const [key, text] of entries) applyCarrierEntry(bag, key, text, ownMaps);
}

/** One carrier entry (applyCarrier). */
export function applyCarrierEntry(
  bag: MutableAttributes,
  key: string,
  text: string,
  ownMaps: boolean,
): void {
  const k = carrierKey(key);
  const v = parseTyped(k.type, text);
  if (v !== undefined) {
    bag.set(key, v);
    return;
  }
  if (k.map !== undefined) {
    const cur = bag.get(k.map);
    let m: Map<string, string>;
    if (!(cur instanceof Map)) m = new Map<string, string>();
    else if (ownMaps) m = cur as Map<string, string>;
    else m = new Map(cur as ReadonlyMap<string, string>);
    m.set(k.entry, text);
    bag.set(k.map, m);
  }
}

/**
 * `host` without a trailing `:<digits>` (a port): what `destination.service` is when only the
 * request's host names it.
 */
export function withoutPort(host: string): string {
  let i = host.length;
  while (i > 0 && host.charCodeAt(i - 1) >= 48 && host.charCodeAt(i - 1) <= 57) i--;
  return i < host.length && i > 0 && host.charCodeAt(i - 1) === 58 ? host.slice(0, i - 1) : host;
}

/** `grpc` for a gRPC request (by its content-type), else `http`. */
export function protocolOf(headers: ReadonlyMap<string, string> | undefined): string {
  return headers?.get('content-type')?.startsWith('application/grpc') ? 'grpc' : 'http';
}

/** An ext_authz v3 CheckRequest from a sidecar → the attributes of the request it asks about. */
export function attributesFromAuthz(request: unknown): Map<string, Value> {
  return fromAuthz(request, false);
}

/** An ext_authz v3 CheckRequest from a gateway: the downstream peer is `origin.ip`. */
export function gatewayAttributesFromAuthz(request: unknown): Map<string, Value> {
  return fromAuthz(request, true);
}

function fromAuthz(request: unknown, gateway: boolean): Map<string, Value> {
  const bag = new Map<string, Value>();
  const attrs = rec(rec(request)?.['attributes']);
  const source = rec(attrs?.['source']);
  const dest = rec(attrs?.['destination']);
  if (gateway) {
    address(bag, 'origin', source?.['address'], false);
  } else {
    address(bag, 'source', source?.['address']);
    address(bag, 'destination', dest?.['address']);
    setIf(bag, 'source.principal', str(source?.['principal']));
    setIf(bag, 'source.user', str(source?.['principal']));
    setIf(bag, 'source.service', str(source?.['service']));
    setIf(bag, 'destination.principal', str(dest?.['principal']));
    setIf(bag, 'destination.service', str(dest?.['service']));
    const sl = stringMap(source?.['labels']);
    if (sl && sl.size > 0) bag.set('source.labels', sl);
    const dl = stringMap(dest?.['labels']);
    if (dl && dl.size > 0) bag.set('destination.labels', dl);
  }
  const sni = str(rec(attrs?.['tls_session'])?.['sni']);
  setIf(bag, 'connection.requested_server_name', sni);
  bag.set(
    'connection.mtls',
    str(source?.['certificate']) !== undefined || str(source?.['principal']) !== undefined,
  );

  const req = rec(attrs?.['request']);
  const time = protoMs(req?.['time']);
  if (time !== undefined) bag.set('request.time', new Date(time));
  const http = rec(req?.['http']);
  if (http) {
    const headers = stringMap(http['headers']) ?? new Map<string, string>();
    bag.set('request.headers', headers);
    setIf(bag, 'request.id', str(http['id']) ?? headers.get('x-request-id'));
    setIf(bag, 'request.method', str(http['method']) ?? headers.get(':method'));
    setIf(bag, 'request.path', str(http['path']) ?? headers.get(':path'));
    const host = str(http['host']) ?? headers.get(':authority') ?? headers.get('host');
    setIf(bag, 'request.host', host);
    setIf(bag, 'request.scheme', str(http['scheme']) ?? headers.get(':scheme'));
    setIf(bag, 'request.useragent', headers.get('user-agent'));
    setIf(bag, 'request.referer', headers.get('referer'));
    const size = num(http['size']);
    if (size !== undefined && size >= 0) bag.set('request.size', size);
    bag.set('context.protocol', protocolOf(headers));
    if (!bag.has('destination.service') && host !== undefined)
      bag.set('destination.service', withoutPort(host));
  } else {
    bag.set('context.protocol', 'tcp');
  }
  const ext = rec(attrs?.['context_extensions']);
  if (ext)
    applyCarrier(
      bag,
      Object.entries(ext).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  return bag;
}

/** `outbound|9080||ratings.default.svc.cluster.local` → the service host, if any. */
export function serviceOfCluster(cluster: string | undefined): string | undefined {
  if (cluster === undefined) return undefined;
  const parts = cluster.split('|');
  return parts.length === 4 && parts[3] !== '' ? parts[3] : undefined;
}

function common(bag: Map<string, Value>, c: Rec | undefined, gateway: boolean): void {
  if (gateway) {
    address(bag, 'origin', c?.['downstream_remote_address'], false);
    address(bag, 'destination', c?.['upstream_remote_address']);
  } else {
    address(bag, 'source', c?.['downstream_remote_address']);
    address(bag, 'destination', c?.['downstream_local_address']);
  }
  const start = protoMs(c?.['start_time']);
  if (start !== undefined) {
    bag.set('request.time', new Date(start));
    bag.set('context.time', new Date(start));
  }
  const last = protoMs(c?.['time_to_last_downstream_tx_byte']) ?? protoMs(c?.['duration']);
  if (last !== undefined) {
    bag.set('response.duration', new Duration(last));
    if (start !== undefined) bag.set('response.time', new Date(start + last));
  }
  setIf(bag, 'destination.service', serviceOfCluster(str(c?.['upstream_cluster'])));
  const peer = rec(rec(c?.['tls_properties'])?.['peer_certificate_properties']);
  const sans = peer?.['subject_alt_name'];
  // At a gateway the peer's certificate names the origin, not the source.
  if (Array.isArray(sans) && !gateway) {
    const uri = sans.map((s) => str(rec(s)?.['uri'])).find((u) => u !== undefined);
    if (uri !== undefined) {
      bag.set('source.principal', uri);
      bag.set('source.user', uri);
    }
  }
  bag.set('connection.mtls', peer !== undefined);
  const tags = rec(c?.['custom_tags']);
  if (tags)
    applyCarrier(
      bag,
      Object.entries(tags).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
}

/** One ALS HTTPAccessLogEntry from a sidecar → the attributes of the request it logs. */
export function attributesFromHttpLog(entry: unknown): Map<string, Value> {
  return fromHttpLog(entry, false);
}

/** One ALS HTTPAccessLogEntry from a gateway: origin and upstream destination. */
export function gatewayAttributesFromHttpLog(entry: unknown): Map<string, Value> {
  return fromHttpLog(entry, true);
}

function fromHttpLog(entry: unknown, gateway: boolean): Map<string, Value> {
  const bag = new Map<string, Value>();
  const e = rec(entry);
  const req = rec(e?.['request']);
  const res = rec(e?.['response']);
  const headers = stringMap(req?.['request_headers']);
  if (headers) bag.set('request.headers', headers);
  setIf(bag, 'request.method', str(req?.['request_method']));
  setIf(bag, 'request.scheme', str(req?.['scheme']));
  const host = str(req?.['authority']);
  setIf(bag, 'request.host', host);
  setIf(bag, 'request.path', str(req?.['path']));
  setIf(bag, 'request.useragent', str(req?.['user_agent']));
  setIf(bag, 'request.referer', str(req?.['referer']));
  setIf(bag, 'request.id', str(req?.['request_id']));
  const reqBody = num(req?.['request_body_bytes']) ?? 0;
  bag.set('request.size', reqBody);
  bag.set('request.total_size', reqBody + (num(req?.['request_headers_bytes']) ?? 0));
  const code = num(rec(res?.['response_code'])?.['value']);
  if (code !== undefined) bag.set('response.code', code);
  const resBody = num(res?.['response_body_bytes']) ?? 0;
  bag.set('response.size', resBody);
  bag.set('response.total_size', resBody + (num(res?.['response_headers_bytes']) ?? 0));
  const rh = stringMap(res?.['response_headers']);
  if (rh) bag.set('response.headers', rh);
  bag.set('context.protocol', protocolOf(headers));
  common(bag, rec(e?.['common_properties']), gateway);
  if (!bag.has('destination.service') && host !== undefined)
    bag.set('destination.service', withoutPort(host));
  return bag;
}

/** One ALS TCPAccessLogEntry from a sidecar → connection attributes. */
export function attributesFromTcpLog(entry: unknown): Map<string, Value> {
  return fromTcpLog(entry, false);
}

/** One ALS TCPAccessLogEntry from a gateway: origin and upstream destination. */
export function gatewayAttributesFromTcpLog(entry: unknown): Map<string, Value> {
  return fromTcpLog(entry, true);
}

function fromTcpLog(entry: unknown, gateway: boolean): Map<string, Value> {
  const bag = new Map<string, Value>();
  const e = rec(entry);
  const conn = rec(e?.['connection_properties']);
  bag.set('connection.received.bytes_total', num(conn?.['received_bytes']) ?? 0);
  bag.set('connection.sent.bytes_total', num(conn?.['sent_bytes']) ?? 0);
  bag.set('context.protocol', 'tcp');
  bag.set('connection.event', 'close');
  common(bag, rec(e?.['common_properties']), gateway);
  const d = bag.get('response.duration');
  if (d instanceof Duration) bag.set('connection.duration', d);
  return bag;
}

/** One rate limit descriptor's entries → attributes (its entries are carrier entries). */
export function attributesFromDescriptor(descriptor: unknown): Map<string, Value> {
  const bag = new Map<string, Value>();
  const entries = rec(descriptor)?.['entries'];
  if (!Array.isArray(entries)) return bag;
  const pairs: [string, string][] = [];
  for (const en of entries) {
    const k = str(rec(en)?.['key']);
    const v = rec(en)?.['value'];
    if (k !== undefined && typeof v === 'string') pairs.push([k, v]);
  }
  applyCarrier(bag, pairs);
  return bag;
}

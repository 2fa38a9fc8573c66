/**
 * An ext_authz v3 `CheckRequest`'s bytes straight to Mixer attributes: the same attributes as
 * decoding the message and mapping it with `attributesFromAuthz` (./envoy-attributes.ts), without
 * the decoded object in between. Envoy calls this on every request through a sidecar, so the
 * agent's check path reads each field once into the attribute set (headers and labels straight
 * into their string maps, context extensions straight to `applyCarrierEntry`); the tests hold the
 * two paths to the same answer for every kind of request.
 *
 * Field numbers are data-plane-api's (envoy/service/auth/v3/attribute_context.proto):
 * CheckRequest 1 attributes; AttributeContext 1 source, 2 destination, 4 request,
 * 10 context_extensions, 12 tls_session (1 sni); Peer 1 address (Address 1 socket_address:
 * 2 address, 3 port_value), 2 service, 3 labels, 4 principal, 5 certificate; Request 1 time
 * (Timestamp 1 seconds, 2 nanos), 2 http; HttpRequest 1 id, 2 method, 3 headers, 4 path, 5 host,
 * 6 scheme, 9 size. Everything else is skipped. A message field that comes twice replaces the
 * first, as the decoder of the other path does.
 */
import protobuf from 'protobufjs';
import { AttributeBag, attributeName, type AttributeName } from './attribute-bag.ts';
import { applyCarrierEntry, protocolOf, withoutPort } from './envoy-attributes.ts';
import { IpAddress } from './value.ts';
import { int64 } from './wire-reader.ts';
import { WireStrings } from './wire-strings.ts';

type Reader = protobuf.Reader;

/** Strings repeat from check to check: read through one table (./wire-strings.ts). */
const strings = new WireStrings();

interface Peer {
  ip: string;
  port: number;
  service: string;
  principal: string;
  certificate: string;
  labels: Map<string, string> | undefined;
}

interface Http {
  id: string;
  method: string;
  path: string;
  host: string;
  scheme: string;
  size: number | undefined;
  headers: Map<string, string>;
}

interface Parts {
  source: Peer | undefined;
  destination: Peer | undefined;
  sni: string;
  time: number | undefined;
  http: Http | undefined;
  /** How many strings of `extensionPairs` are this request's context_extensions. */
  extensions: number;
}

/**
 * context_extensions as read: key, value, key, value... One array for every request (its entries
 * are applied before the next request is read), not a Map made per request only to be read once.
 */
const extensionPairs: string[] = [];

const newPeer = (): Peer => ({
  ip: '',
  port: 0,
  service: '',
  principal: '',
  certificate: '',
  labels: undefined,
});

/**
 * What a request is read into before its attributes are made: one set of records for every
 * request, reset as each is read (nothing here outlives the call; the maps that go into the
 * attributes are made per request).
 */
const scratch = {
  parts: {
    source: undefined,
    destination: undefined,
    sni: '',
    time: undefined,
    http: undefined,
    extensions: 0,
  } as Parts,
  source: newPeer(),
  destination: newPeer(),
  http: {
    id: '',
    method: '',
    path: '',
    host: '',
    scheme: '',
    size: undefined,
    headers: new Map(),
  } as Http,
};

function noParts(): Parts {
  const p = scratch.parts;
  p.source = undefined;
  p.destination = undefined;
  p.sni = '';
  p.time = undefined;
  p.http = undefined;
  p.extensions = 0;
  return p;
}

/** The attributes of a check and whether it came from the HTTP filter (`request.http` set). */
export interface AuthzAttributes {
  readonly bag: AttributeBag;
  readonly http: boolean;
}

const end = (r: Reader): number => r.uint32() + r.pos;

/** The key and value of the map<string, string> entry readEntry read last. */
let entryKey = '';
let entryValue = '';

function readEntry(r: Reader): void {
  const stop = end(r);
  entryKey = '';
  entryValue = '';
  while (r.pos < stop) {
    const tag = r.uint32();
    if (tag === 10) entryKey = strings.read(r);
    else if (tag === 18) entryValue = strings.read(r);
    else r.skipType(tag & 7);
  }
}

/** A map<string, string> entry into `m`, its key lower-cased (as the other path does). */
function mapEntry(r: Reader, m: Map<string, string>): void {
  readEntry(r);
  m.set(entryKey.toLowerCase(), entryValue);
}

/** A context_extensions entry into extensionPairs (keys as they are). */
function extensionEntry(r: Reader, parts: Parts): void {
  readEntry(r);
  extensionPairs[parts.extensions++] = entryKey;
  extensionPairs[parts.extensions++] = entryValue;
}

function socketAddress(r: Reader, p: Peer): void {
  // A new Address (and socket address) replaces the last one whole.
  p.ip = '';
  p.port = 0;
  const stop = end(r);
  while (r.pos < stop) {
    const tag = r.uint32();
    if (tag !== 10) {
      r.skipType(tag & 7);
      continue;
    }
    const saStop = end(r);
    p.ip = '';
    p.port = 0;
    while (r.pos < saStop) {
      const t = r.uint32();
      if (t === 18) p.ip = strings.read(r);
      else if (t === 24) p.port = r.uint32();
      else r.skipType(t & 7);
    }
  }
}

/** A Peer read into `p` (its earlier contents gone). */
function peer(r: Reader, p: Peer): Peer {
  p.ip = '';
  p.port = 0;
  p.service = '';
  p.principal = '';
  p.certificate = '';
  p.labels = undefined;
  const stop = end(r);
  while (r.pos < stop) {
    const tag = r.uint32();
    if (tag === 10) socketAddress(r, p);
    else if (tag === 18) p.service = strings.read(r);
    else if (tag === 26) mapEntry(r, (p.labels ??= new Map<string, string>()));
    else if (tag === 34) p.principal = strings.read(r);
    else if (tag === 42) p.certificate = strings.read(r);
    else r.skipType(tag & 7);
  }
  return p;
}

/** An HttpRequest read into the scratch record (its earlier contents gone). */
function http(r: Reader): Http {
  const h = scratch.http;
  h.id = '';
  h.method = '';
  h.path = '';
  h.host = '';
  h.scheme = '';
  h.size = undefined;
  h.headers = new Map();
  const stop = end(r);
  while (r.pos < stop) {
    const tag = r.uint32();
    if (tag === 10) h.id = strings.read(r);
    else if (tag === 18) h.method = strings.read(r);
    else if (tag === 26) mapEntry(r, h.headers);
    else if (tag === 34) h.path = strings.read(r);
    else if (tag === 42) h.host = strings.read(r);
    else if (tag === 50) h.scheme = strings.read(r);
    else if (tag === 72) h.size = int64(r);
    else r.skipType(tag & 7);
  }
  return h;
}

function request(r: Reader, parts: Parts): void {
  parts.time = undefined;
  parts.http = undefined;
  const stop = end(r);
  while (r.pos < stop) {
    const tag = r.uint32();
    if (tag === 10) {
      const tStop = end(r);
      let s = 0;
      let n = 0;
      while (r.pos < tStop) {
        const t = r.uint32();
        if (t === 8) s = int64(r);
        else if (t === 16) n = r.int32();
        else r.skipType(t & 7);
      }
      parts.time = s * 1000 + n / 1e6;
    } else if (tag === 18) parts.http = http(r);
    else r.skipType(tag & 7);
  }
}

function attributeContext(r: Reader, parts: Parts): void {
  const stop = end(r);
  while (r.pos < stop) {
    const tag = r.uint32();
    if (tag === 10) parts.source = peer(r, scratch.source);
    else if (tag === 18) parts.destination = peer(r, scratch.destination);
    else if (tag === 34) request(r, parts);
    else if (tag === 82) extensionEntry(r, parts);
    else if (tag === 98) {
      parts.sni = '';
      const sStop = end(r);
      while (r.pos < sStop) {
        const t = r.uint32();
        if (t === 10) parts.sni = strings.read(r);
        else r.skipType(t & 7);
      }
    } else r.skipType(tag & 7);
  }
}

/** The attributes every check sets, their slots taken once. */
const A = {
  originIp: attributeName('origin.ip'),
  sourceIp: attributeName('source.ip'),
  sourcePort: attributeName('source.port'),
  destinationIp: attributeName('destination.ip'),
  destinationPort: attributeName('destination.port'),
  sourcePrincipal: attributeName('source.principal'),
  sourceUser: attributeName('source.user'),
  sourceService: attributeName('source.service'),
  destinationPrincipal: attributeName('destination.principal'),
  destinationService: attributeName('destination.service'),
  sourceLabels: attributeName('source.labels'),
  destinationLabels: attributeName('destination.labels'),
  sni: attributeName('connection.requested_server_name'),
  mtls: attributeName('connection.mtls'),
  time: attributeName('request.time'),
  headers: attributeName('request.headers'),
  id: attributeName('request.id'),
  method: attributeName('request.method'),
  path: attributeName('request.path'),
  host: attributeName('request.host'),
  scheme: attributeName('request.scheme'),
  useragent: attributeName('request.useragent'),
  referer: attributeName('request.referer'),
  size: attributeName('request.size'),
  protocol: attributeName('context.protocol'),
};

function setString(bag: AttributeBag, name: AttributeName, v: string | undefined): void {
  if (v !== undefined && v !== '') bag.put(name, v);
}

function setIf(bag: AttributeBag, name: AttributeName, v: string | undefined): void {
  if (v !== undefined) bag.put(name, v);
}

/** A field Envoy left empty falls back to its header (which may be empty itself). */
function or(v: string, headers: ReadonlyMap<string, string>, header: string): string | undefined {
  return v !== '' ? v : headers.get(header);
}

/** The peer's address as `ipName` and (when given) `portName`. */
function address(
  bag: AttributeBag,
  p: Peer,
  ipName: AttributeName,
  portName?: AttributeName,
): void {
  if (p.ip !== '') {
    const ip = IpAddress.parse(p.ip);
    if (ip !== undefined) bag.put(ipName, ip);
  }
  if (portName !== undefined && p.port > 0) bag.put(portName, p.port);
}

/**
 * A CheckRequest's bytes → its attributes. `gateway`: the downstream peer is `origin.ip` (as
 * `gatewayAttributesFromAuthz`). Throws on bytes that are not a CheckRequest.
 */
export function authzAttributes(bytes: Uint8Array, gateway = false): AuthzAttributes {
  const r = protobuf.Reader.create(bytes);
  let parts = noParts();
  let seen = false;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 10) {
      // A second AttributeContext replaces the first.
      if (seen) parts = noParts();
      seen = true;
      attributeContext(r, parts);
    } else r.skipType(tag & 7);
  }
  return { bag: toBag(parts, gateway), http: parts.http !== undefined };
}

function toBag(parts: Parts, gateway: boolean): AttributeBag {
  const bag = new AttributeBag();
  const { source, destination: dest, http: h } = parts;
  if (gateway) {
    if (source) address(bag, source, A.originIp);
  } else {
    if (source) address(bag, source, A.sourceIp, A.sourcePort);
    if (dest) address(bag, dest, A.destinationIp, A.destinationPort);
    setString(bag, A.sourcePrincipal, source?.principal);
    setString(bag, A.sourceUser, source?.principal);
    setString(bag, A.sourceService, source?.service);
    setString(bag, A.destinationPrincipal, dest?.principal);
    setString(bag, A.destinationService, dest?.service);
    if (source?.labels && source.labels.size > 0) bag.put(A.sourceLabels, source.labels);
    if (dest?.labels && dest.labels.size > 0) bag.put(A.destinationLabels, dest.labels);
  }
  setString(bag, A.sni, parts.sni);
  bag.put(A.mtls, (source?.certificate ?? '') !== '' || (source?.principal ?? '') !== '');
  if (parts.time !== undefined) bag.put(A.time, new Date(parts.time));
  if (h) {
    const headers = h.headers;
    bag.put(A.headers, headers);
    setIf(bag, A.id, or(h.id, headers, 'x-request-id'));
    setIf(bag, A.method, or(h.method, headers, ':method'));
    setIf(bag, A.path, or(h.path, headers, ':path'));
    const host = or(h.host, headers, ':authority') ?? headers.get('host');
    setIf(bag, A.host, host);
    setIf(bag, A.scheme, or(h.scheme, headers, ':scheme'));
    setIf(bag, A.useragent, headers.get('user-agent'));
    setIf(bag, A.referer, headers.get('referer'));
    if (h.size !== undefined && Number.isFinite(h.size) && h.size >= 0) bag.put(A.size, h.size);
    bag.put(A.protocol, protocolOf(headers));
    if (bag.at(A.destinationService) === undefined && host !== undefined)
      bag.put(A.destinationService, withoutPort(host));
  } else {
    bag.put(A.protocol, 'tcp');
  }
  // Every map in the bag was made by this decode: extensions add to them in place. Applied in
  // the order read, so a key that comes twice ends with its last value (protobuf's map rule).
  for (let i = 0; i + 1 < parts.extensions; i += 2) {
    applyCarrierEntry(bag, extensionPairs[i] as string, extensionPairs[i + 1] as string, true);
  }
  // A request with very many extensions does not keep them, nor the room they took.
  if (extensionPairs.length > 1024) extensionPairs.length = 0;
  return bag;
}

/**
 * Pilot's operator pages, shared by Pilot (which writes them) and the operator tools
 * (`istio-lite proxy-status`, `proxy-config`, the dashboard, which read them):
 *
 * - `/debug/proxy_status`: every proxy connected to one Pilot replica, with the state of each of
 *   CDS, EDS, LDS and RDS;
 * - `/debug/config_dump?proxyID=…`: what one proxy holds, as Pilot last sent it and the proxy
 *   ACKed it.
 *
 * Both are served on Pilot's HTTP port and over ADS, as Istio's debug generator does: a request of
 * type `istio.io/debug` whose one resource name is the page (`proxy_status`,
 * `config_dump?proxyID=…`) is answered with one resource of that type holding the page's JSON
 * (docs/reference/operating.md). The readers narrow what they get here, so a Pilot of another
 * version gives an error naming the field, never a crash.
 */
import { FieldReader } from '../config/field-reader.ts';
import { isObject, type JsonObject } from '../json.ts';

/** The type URL of debug requests over ADS (Istio's `istio.io/debug`). */
export const DebugTypeUrl = 'istio.io/debug';

/** The four xDS types by their short names, in push order. */
export const XdsShortNames = ['CDS', 'EDS', 'LDS', 'RDS'] as const;
export type XdsShortName = (typeof XdsShortNames)[number];

/**
 * Where a type stands on a stream, as `istioctl proxy-status` shows it: SYNCED (the last response
 * was ACKed), STALE (sent, no answer yet), NACKED (the last response was refused; the proxy keeps
 * its previous config) or NOT SENT (nothing sent yet).
 */
export const SyncStates = ['SYNCED', 'STALE', 'NACKED', 'NOT SENT'] as const;
export type SyncState = (typeof SyncStates)[number];

/** What kind of client a stream is: an Envoy sidecar, a gateway, a proxyless gRPC client or a VM. */
export const ProxyKinds = ['sidecar', 'gateway', 'proxyless', 'vm'] as const;
export type ProxyKindName = (typeof ProxyKinds)[number];

export interface TypeSync {
  readonly state: SyncState;
  /** The version of the last response sent ('' when none). */
  readonly sent: string;
  /** The version the proxy last ACKed ('' when none). */
  readonly acked: string;
  /** The last NACK of this type on the stream, if any (also after a later ACK). */
  readonly nack: { readonly version: string; readonly message: string; readonly at: string } | null;
}

export interface ProxySync {
  /** The node id the proxy sent. */
  readonly id: string;
  /** Pod name (or the VM's host name, or a proxyless client's id). */
  readonly name: string;
  readonly namespace: string;
  readonly kind: ProxyKindName;
  readonly ip: string | null;
  readonly connectedAt: string;
  /** `sotw` or `delta`. */
  readonly mode: string;
  /** The Pilot replica the stream is on. */
  readonly pilot: string;
  readonly types: Readonly<Record<XdsShortName, TypeSync>>;
}

export interface ProxyStatusPage {
  readonly pilot: string;
  /** The latest mesh build's version (null before the first build). */
  readonly version: number | null;
  readonly proxies: readonly ProxySync[];
}

export interface HeldType {
  /** The version the proxy ACKed ('' when it ACKed nothing of this type yet). */
  readonly version: string;
  /** Each resource as JSON with its `@type`, the way Envoy's config dump shows it. */
  readonly resources: readonly JsonObject[];
}

export interface SecretRef {
  /** The SDS secret name (`default`, `ROOTCA`, or a gateway's credential). */
  readonly name: string;
  /** `Cert Chain` (the proxy's own certificate) or `CA` (roots it checks peers with). */
  readonly type: string;
  /** The clusters and listeners whose TLS settings name it. */
  readonly usedBy: readonly string[];
}

export interface ConfigDumpPage {
  readonly pilot: string;
  readonly proxy: Omit<ProxySync, 'types' | 'pilot'>;
  readonly types: Readonly<Record<XdsShortName, HeldType>>;
  /** The secrets the held config asks the agent for over SDS (the agent serves them). */
  readonly secrets: readonly SecretRef[];
}

function oneOf<T extends string>(r: FieldReader, key: string, values: readonly T[]): T {
  const v = r.requiredString(key);
  if (!(values as readonly string[]).includes(v)) {
    r.fail(key, `"${v}" is not one of ${values.join(', ')}`);
  }
  return v as T;
}

function nullableString(r: FieldReader, key: string): string | null {
  return r.raw(key) === null || !r.has(key) ? null : r.requiredString(key);
}

function readTypeSync(r: FieldReader): TypeSync {
  const n = r.object('nack');
  const nack =
    r.raw('nack') === null || !r.has('nack')
      ? null
      : {
          version: n.string('version', ''),
          message: n.string('message', ''),
          at: n.string('at', ''),
        };
  return {
    state: oneOf(r, 'state', SyncStates),
    sent: r.string('sent', ''),
    acked: r.string('acked', ''),
    nack,
  };
}

function readProxy(r: FieldReader): Omit<ProxySync, 'types' | 'pilot'> {
  return {
    id: r.requiredString('id'),
    name: r.requiredString('name'),
    namespace: r.requiredString('namespace'),
    kind: oneOf(r, 'kind', ProxyKinds),
    ip: nullableString(r, 'ip'),
    connectedAt: r.string('connectedAt', ''),
    mode: r.string('mode', 'sotw'),
  };
}

function perType<T>(
  r: FieldReader,
  key: string,
  read: (t: FieldReader) => T,
): Record<XdsShortName, T> {
  const types = r.object(key);
  return {
    CDS: read(types.object('CDS')),
    EDS: read(types.object('EDS')),
    LDS: read(types.object('LDS')),
    RDS: read(types.object('RDS')),
  };
}

/** Narrows a `/debug/proxy_status` answer; errors name the field (`proxies[2].types.CDS.state`). */
export function parseProxyStatusPage(v: unknown, what = 'proxy_status'): ProxyStatusPage {
  const r = new FieldReader(v, { what });
  const pilot = r.requiredString('pilot');
  const version = r.raw('version') === null || !r.has('version') ? null : r.integer('version', 0);
  const proxies = r.list('proxies').map((p) => ({
    ...readProxy(p),
    pilot: p.string('pilot', pilot),
    types: perType(p, 'types', readTypeSync),
  }));
  return { pilot, version, proxies };
}

/** Narrows a `/debug/config_dump` answer. */
export function parseConfigDumpPage(v: unknown, what = 'config_dump'): ConfigDumpPage {
  const r = new FieldReader(v, { what });
  return {
    pilot: r.requiredString('pilot'),
    proxy: readProxy(r.object('proxy')),
    types: perType(r, 'types', (t) => {
      const raw = t.raw('resources');
      const resources = Array.isArray(raw) ? raw.filter(isObject) : [];
      if (raw !== undefined && (!Array.isArray(raw) || resources.length !== raw.length)) {
        t.fail('resources', 'must be a list of objects');
      }
      return { version: t.string('version', ''), resources };
    }),
    secrets: r.list('secrets').map((s) => ({
      name: s.requiredString('name'),
      type: s.string('type', ''),
      usedBy: s.stringList('usedBy'),
    })),
  };
}

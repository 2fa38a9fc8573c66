/**
 * The mesh configuration (ConfigMap `istio`, key `mesh`), as 0.2's MeshConfig with the modern fields
 * users expect. Parsed once into a readonly object; a bad field is an error naming it.
 */
import { FieldReader } from './config/field-reader.ts';
import { isDuration } from './config/values.ts';
import type { JsonValue } from './json.ts';

export const AuthPolicy = ['NONE', 'PERMISSIVE', 'MUTUAL_TLS'] as const;
export type AuthPolicy = (typeof AuthPolicy)[number];

export interface ProxyConfig {
  readonly configPath: string;
  readonly binaryPath: string;
  /** Default service cluster; the pod's `app` label wins when present. */
  readonly serviceCluster: string;
  readonly drainDuration: string;
  readonly parentShutdownDuration: string;
  readonly discoveryAddress: string;
  readonly connectTimeout: string;
  readonly proxyAdminPort: number;
  readonly statusPort: number;
  /**
   * The Zipkin collector (host:port) proxies send spans to; empty = no tracing. Istio 0.2's field;
   * modern Istio's `tracing.zipkin.address` is read into it too.
   */
  readonly zipkinAddress: string;
  readonly tracing: TracingConfig;
  readonly statsdUdpAddress: string;
  readonly holdApplicationUntilProxyStarts: boolean;
  readonly concurrency: number;
}

export interface TracingConfig {
  /**
   * Percent of requests (0–100) a proxy starts a trace for when the request carries no decision:
   * modern Istio's `tracing.sampling`, default 1 as there (100 traces every request).
   */
  readonly sampling: number;
}

export interface MeshConfig {
  /** NONE: plaintext; PERMISSIVE: mTLS between sidecars, plaintext still accepted inbound; MUTUAL_TLS: mTLS only. */
  readonly authPolicy: AuthPolicy;
  readonly trustDomain: string;
  readonly ingressClass: string;
  readonly ingressService: string;
  readonly mixerCheckServer: string;
  readonly mixerReportServer: string;
  /**
   * Where sidecars get their certificates: empty (0.2's way) = the `istio.<sa>` Secret the CA
   * writes, mounted into the pod; host:port = a CSR to the CA at that address, authenticated with a
   * projected ServiceAccount token for audience `istio-ca` (the key never leaves the pod).
   */
  readonly caAddress: string;
  /**
   * Whether proxies' HTTP connection managers trace (Istio 0.2's switch, default true as there);
   * spans are sent only where `defaultConfig.zipkinAddress` names a collector.
   */
  readonly enableTracing: boolean;
  readonly defaultConfig: ProxyConfig;
}

export const defaultMeshConfig: MeshConfig = {
  authPolicy: 'PERMISSIVE',
  trustDomain: 'cluster.local',
  ingressClass: 'istio',
  ingressService: 'istio-ingress',
  mixerCheckServer: 'istio-mixer.istio-system:9091',
  mixerReportServer: 'istio-mixer.istio-system:9091',
  caAddress: '',
  enableTracing: true,
  defaultConfig: {
    configPath: '/etc/istio/proxy',
    binaryPath: '/usr/local/bin/envoy',
    serviceCluster: 'istio-proxy',
    drainDuration: '45s',
    parentShutdownDuration: '1m0s',
    discoveryAddress: 'istio-pilot.istio-system:15010',
    connectTimeout: '10s',
    proxyAdminPort: 15000,
    statusPort: 15020,
    zipkinAddress: '',
    tracing: { sampling: 1 },
    statsdUdpAddress: '',
    holdApplicationUntilProxyStarts: false,
    concurrency: 2,
  },
};

const WHAT = 'mesh config';

function duration(r: FieldReader, key: string, def: string): string {
  const v = r.string(key, def);
  if (!isDuration(v)) r.fail(key, `must be a duration like "45s" or "1m0s", got "${v}"`);
  return v;
}

function hostPort(r: FieldReader, key: string, def: string, optional: boolean): string {
  const v = r.string(key, def);
  if (v === '' && optional) return v;
  if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(v)) r.fail(key, `must be host:port, got "${v}"`);
  return v;
}

/**
 * `tracing` (modern Istio's ProxyConfig.Tracing, the parts istio-lite uses): `sampling` and
 * `zipkin.address`, which must agree with 0.2's `zipkinAddress` when both are set.
 */
function tracing(
  p: FieldReader,
  zipkinAddress: string,
  pd: ProxyConfig,
): { zipkinAddress: string; tracing: TracingConfig } {
  const t = p.object('tracing');
  const sampling = t.number('sampling', pd.tracing.sampling, 0, 100);
  const z = t.object('zipkin');
  const address = hostPort(z, 'address', '', true);
  z.done();
  t.done();
  if (address !== '' && p.has('zipkinAddress') && address !== zipkinAddress) {
    z.fail('address', `is "${address}" but zipkinAddress is "${zipkinAddress}"; set one of them`);
  }
  return { zipkinAddress: address !== '' ? address : zipkinAddress, tracing: { sampling } };
}

/**
 * Reads ProxyConfig fields over `defaults`: the mesh's `defaultConfig`, and per pod the
 * `proxy.istio.io/config` annotation. Unknown fields are errors.
 */
export function parseProxyConfig(p: FieldReader, pd: ProxyConfig): ProxyConfig {
  const out: ProxyConfig = {
    configPath: p.string('configPath', pd.configPath),
    binaryPath: p.string('binaryPath', pd.binaryPath),
    serviceCluster: p.string('serviceCluster', pd.serviceCluster),
    drainDuration: duration(p, 'drainDuration', pd.drainDuration),
    parentShutdownDuration: duration(p, 'parentShutdownDuration', pd.parentShutdownDuration),
    discoveryAddress: hostPort(p, 'discoveryAddress', pd.discoveryAddress, false),
    connectTimeout: duration(p, 'connectTimeout', pd.connectTimeout),
    proxyAdminPort: p.integer('proxyAdminPort', pd.proxyAdminPort, 1, 65535),
    statusPort: p.integer('statusPort', pd.statusPort, 1, 65535),
    ...tracing(p, hostPort(p, 'zipkinAddress', pd.zipkinAddress, true), pd),
    statsdUdpAddress: hostPort(p, 'statsdUdpAddress', pd.statsdUdpAddress, true),
    holdApplicationUntilProxyStarts: p.boolean(
      'holdApplicationUntilProxyStarts',
      pd.holdApplicationUntilProxyStarts,
    ),
    concurrency: p.integer('concurrency', pd.concurrency, 0, 256),
  };
  p.done();
  return out;
}

export function parseMeshConfig(value: JsonValue | undefined): MeshConfig {
  const d = defaultMeshConfig;
  const r = new FieldReader(value, { what: WHAT });
  const defaultConfig = parseProxyConfig(r.object('defaultConfig'), d.defaultConfig);
  const mesh: MeshConfig = {
    authPolicy: r.oneOf('authPolicy', AuthPolicy, d.authPolicy),
    trustDomain: r.string('trustDomain', d.trustDomain),
    ingressClass: r.string('ingressClass', d.ingressClass),
    ingressService: r.string('ingressService', d.ingressService),
    mixerCheckServer: hostPort(r, 'mixerCheckServer', d.mixerCheckServer, true),
    mixerReportServer: hostPort(r, 'mixerReportServer', d.mixerReportServer, true),
    caAddress: hostPort(r, 'caAddress', d.caAddress, true),
    enableTracing: r.boolean('enableTracing', d.enableTracing),
    defaultConfig,
  };
  r.done();
  if (!/^[a-z0-9.-]+$/.test(mesh.trustDomain)) {
    r.fail('trustDomain', `must be a DNS-like name, got "${mesh.trustDomain}"`);
  }
  return mesh;
}

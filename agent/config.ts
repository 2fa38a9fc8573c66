/**
 * The agent's configuration: the flags the injector writes into the `istio-proxy` container
 * (webhook/sidecar.ts `agentArgs`), the downward-API env vars, and a few of the agent's own,
 * parsed once into a readonly object. A bad value is a usage error naming the flag or variable;
 * nothing falls back to a default silently.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { Port } from '../lib/ports.ts';
import { durationMs, isDuration } from '../lib/validate.ts';
import { parseProbers, type AppProbers } from './status/probers.ts';

export const AgentMode = ['sidecar', 'router'] as const;
export type AgentMode = (typeof AgentMode)[number];

export const ProxyLogLevel = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'];

/** Every flag `agent sidecar|router` accepts, with its default ('' = unset). */
export const agentFlagDefaults = {
  configPath: '/etc/istio/proxy',
  binaryPath: '/usr/local/bin/envoy',
  serviceCluster: 'istio-proxy',
  drainDuration: '45s',
  parentShutdownDuration: '1m0s',
  discoveryAddress: 'istio-pilot.istio-system:15010',
  connectTimeout: '10s',
  proxyAdminPort: String(Port.EnvoyAdmin),
  statusPort: String(Port.AgentStatus),
  readinessPort: String(Port.Readiness),
  statsPort: String(Port.EnvoyPrometheus),
  concurrency: '2',
  proxyLogLevel: 'warning',
  zipkinAddress: '',
  statsdUdpAddress: '',
  mixerAddress: '',
  mixerFailOpen: 'true',
  mixerCheckTimeout: '1s',
  caAddress: '',
  caRootCertPath: '/var/run/secrets/istio/root-cert.pem',
  caTokenPath: '/var/run/secrets/kubernetes.io/serviceaccount/token',
  certsDir: '/etc/certs',
  certTtl: '24h',
  trustDomain: 'cluster.local',
  domain: '',
  startEnvoy: 'true',
  kubeconfig: '',
} as const;

export type AgentFlag = keyof typeof agentFlagDefaults;

export interface PodIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
  readonly hostIp: string;
  readonly serviceAccount: string;
}

export interface AgentConfig {
  readonly mode: AgentMode;
  readonly configPath: string;
  readonly binaryPath: string;
  readonly serviceCluster: string;
  readonly drainMs: number;
  readonly parentShutdownMs: number;
  /** Pilot's ADS address, host:port. */
  readonly discoveryAddress: string;
  readonly connectTimeoutMs: number;
  readonly proxyAdminPort: number;
  /** Application probes (`/app-health/...`), 15020. */
  readonly statusPort: number;
  /** `/healthz/ready`, 15021. */
  readonly readinessPort: number;
  /** Envoy's Prometheus listener, 15090. */
  readonly statsPort: number;
  readonly concurrency: number;
  readonly proxyLogLevel: string;
  readonly zipkinAddress: string | undefined;
  readonly statsdUdpAddress: string | undefined;
  /** Mixer's gRPC address; undefined = no Mixer client (ext_authz allows, ALS drops). */
  readonly mixerAddress: string | undefined;
  readonly mixerFailOpen: boolean;
  readonly mixerCheckTimeoutMs: number;
  /** The CA's address; undefined = certificates from `certsDir` (the `istio.<sa>` Secret). */
  readonly caAddress: string | undefined;
  readonly caRootCertPath: string;
  readonly caTokenPath: string;
  readonly certsDir: string;
  readonly certTtlMs: number;
  readonly trustDomain: string;
  /** DNS domain of the node id (`<ns>.svc.cluster.local`); default `<ns>.svc.cluster.local`. */
  readonly domain: string;
  /** False runs everything but Envoy (tests; a proxy started by someone else). */
  readonly startEnvoy: boolean;
  /**
   * Router mode: kubeconfig for reading `kubernetes://` TLS Secrets; undefined = in-cluster
   * credentials (lib/kube/client.ts loadKubeConfig). Sidecars never read Secrets.
   */
  readonly kubeconfig: string | undefined;
  readonly pod: PodIdentity;
  readonly appProbers: AppProbers;
  /** `ISTIO_META_*` env vars, as node metadata (prefix removed). */
  readonly extraMetadata: Readonly<Record<string, string>>;
  /** Unix sockets the agent serves Envoy on, all under configPath. */
  readonly sockets: { readonly xds: string; readonly sds: string; readonly mixer: string };
  readonly bootstrapPath: string;
}

function usage(message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.Usage, message);
}

function port(name: string, v: string, allowZero: boolean): number {
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!(n >= (allowZero ? 0 : 1) && n <= 65535)) {
    throw usage(`--${name}: "${v}" is not a port (${allowZero ? 0 : 1}-65535)`);
  }
  return n;
}

function duration(name: string, v: string): number {
  if (!isDuration(v)) throw usage(`--${name}: "${v}" is not a duration like 45s or 1m0s`);
  return durationMs(v);
}

function hostPort(name: string, v: string): string | undefined {
  if (v === '') return undefined;
  if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(v)) throw usage(`--${name}: "${v}" is not host:port`);
  return v;
}

function bool(name: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw usage(`--${name}: "${v}" must be true or false`);
}

function requireEnv(env: NodeJS.ProcessEnv, name: string, fallback?: string): string {
  const v = env[name] ?? fallback;
  if (v === undefined || v === '') {
    throw usage(`environment variable ${name} is not set (the injector sets it from the pod)`);
  }
  return v;
}

/** Parses flags (absent = default) and env into the agent's configuration. */
export function parseAgentConfig(
  mode: AgentMode,
  flags: Readonly<Partial<Record<AgentFlag, string>>>,
  env: NodeJS.ProcessEnv,
): AgentConfig {
  const f = (k: AgentFlag): string => flags[k] ?? agentFlagDefaults[k];
  const ip = requireEnv(env, 'INSTANCE_IP');
  if (isIP(ip) === 0) throw usage(`INSTANCE_IP: "${ip}" is not an IP address`);
  const namespace = requireEnv(env, 'POD_NAMESPACE');
  const pod: PodIdentity = {
    name: requireEnv(env, 'POD_NAME'),
    namespace,
    ip,
    hostIp: env['HOST_IP'] ?? '',
    serviceAccount: env['SERVICE_ACCOUNT'] ?? 'default',
  };
  let appProbers: AppProbers;
  try {
    appProbers = parseProbers(env['ISTIO_KUBE_APP_PROBERS'] ?? '');
  } catch (e) {
    throw usage(`ISTIO_KUBE_APP_PROBERS: ${errorMessage(e)}`);
  }
  const extraMetadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('ISTIO_META_') && v !== undefined) extraMetadata[k.slice(11)] = v;
  }
  const level = f('proxyLogLevel');
  if (!ProxyLogLevel.includes(level)) {
    throw usage(`--proxyLogLevel: "${level}" must be one of ${ProxyLogLevel.join(', ')}`);
  }
  const concurrency = f('concurrency');
  if (!/^\d{1,3}$/.test(concurrency)) {
    throw usage(`--concurrency: "${concurrency}" is not a number of worker threads (0-256)`);
  }
  const discoveryAddress = hostPort('discoveryAddress', f('discoveryAddress'));
  if (discoveryAddress === undefined) throw usage('--discoveryAddress is required');
  const trustDomain = f('trustDomain');
  if (!/^[a-z0-9.-]+$/.test(trustDomain)) {
    throw usage(`--trustDomain: "${trustDomain}" is not a DNS-like name`);
  }
  const configPath = f('configPath');
  const domain = f('domain') === '' ? `${namespace}.svc.cluster.local` : f('domain');
  return {
    mode,
    configPath,
    binaryPath: f('binaryPath'),
    serviceCluster: f('serviceCluster'),
    drainMs: duration('drainDuration', f('drainDuration')),
    parentShutdownMs: duration('parentShutdownDuration', f('parentShutdownDuration')),
    discoveryAddress,
    connectTimeoutMs: duration('connectTimeout', f('connectTimeout')),
    proxyAdminPort: port('proxyAdminPort', f('proxyAdminPort'), false),
    statusPort: port('statusPort', f('statusPort'), true),
    readinessPort: port('readinessPort', f('readinessPort'), true),
    statsPort: port('statsPort', f('statsPort'), false),
    concurrency: Number(concurrency),
    proxyLogLevel: level,
    zipkinAddress: hostPort('zipkinAddress', f('zipkinAddress')),
    statsdUdpAddress: hostPort('statsdUdpAddress', f('statsdUdpAddress')),
    mixerAddress: hostPort('mixerAddress', f('mixerAddress')),
    mixerFailOpen: bool('mixerFailOpen', f('mixerFailOpen')),
    mixerCheckTimeoutMs: duration('mixerCheckTimeout', f('mixerCheckTimeout')),
    caAddress: hostPort('caAddress', f('caAddress')),
    caRootCertPath: f('caRootCertPath'),
    caTokenPath: f('caTokenPath'),
    certsDir: f('certsDir'),
    certTtlMs: duration('certTtl', f('certTtl')),
    trustDomain,
    domain,
    startEnvoy: bool('startEnvoy', f('startEnvoy')),
    kubeconfig: f('kubeconfig') === '' ? undefined : f('kubeconfig'),
    pod,
    appProbers,
    extraMetadata,
    sockets: {
      xds: join(configPath, 'XDS'),
      sds: join(configPath, 'SDS'),
      mixer: join(configPath, 'MIXER'),
    },
    bootstrapPath: join(configPath, 'envoy-rev0.json'),
  };
}

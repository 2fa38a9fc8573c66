/**
 * The agent's configuration: the flags the injector writes into the `istio-proxy` container
 * (webhook/sidecar.ts `agentArgs`), the downward-API env vars, and a few of the agent's own,
 * parsed once into a readonly object. A bad value is a usage error naming the flag or variable;
 * nothing falls back to a default silently.
 */
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { option, parseOptions, usageError, type OptionValues } from '../lib/config/options.ts';
import { errorMessage, type IstioLiteError } from '../lib/errors.ts';
import { Port } from '../lib/ports.ts';
import { parseProbers, type AppProbers } from './status/probers.ts';

export const AgentMode = ['sidecar', 'router'] as const;
export type AgentMode = (typeof AgentMode)[number];

export const ProxyLogLevel = [
  'trace',
  'debug',
  'info',
  'warning',
  'error',
  'critical',
  'off',
] as const;

/** Every option `agent sidecar|router` accepts (lib/config/options.ts), with its default. */
export const agentOptions = {
  configPath: option.text('/etc/istio/proxy', 'Envoy bootstrap and the agent sockets', {
    placeholder: 'DIR',
  }),
  binaryPath: option.text('/usr/local/bin/envoy', 'Envoy', { placeholder: 'FILE' }),
  serviceCluster: option.text('istio-proxy', 'node cluster', { placeholder: 'NAME' }),
  drainDuration: option.duration('45s', 'drain time on shutdown'),
  parentShutdownDuration: option.duration('1m0s', 'wait for Envoy to exit before SIGKILL'),
  discoveryAddress: option.hostPort('Pilot ADS (default istio-pilot.istio-system:15010)'),
  connectTimeout: option.duration('10s', 'connect timeout of the bootstrap clusters'),
  proxyAdminPort: option.port(Port.EnvoyAdmin, 'Envoy admin on 127.0.0.1', { allowZero: false }),
  statusPort: option.port(Port.AgentStatus, 'application probes'),
  readinessPort: option.port(Port.Readiness, '/healthz/ready'),
  statsPort: option.port(Port.EnvoyPrometheus, 'Envoy /stats/prometheus', { allowZero: false }),
  concurrency: option.number(2, 'Envoy worker threads', { min: 0, max: 256, integer: true }),
  proxyLogLevel: option.oneOf(ProxyLogLevel, 'warning', 'Envoy log level'),
  zipkinAddress: option.hostPort('Zipkin collector (tracing on when set)'),
  traceSampling: option.number(1, 'percent of traces started without a caller decision', {
    min: 0,
    max: 100,
  }),
  statsdUdpAddress: option.hostPort('statsd sink'),
  mixerAddress: option.hostPort('Mixer (ext_authz/ALS answered locally, cached); none: allow all'),
  mixerFailOpen: option.bool(true, 'allow when Mixer is unreachable'),
  mixerCheckTimeout: option.duration('1s', 'Mixer Check deadline'),
  caAddress: option.hostPort('CA for a CSR (default: certificates from --certsDir)'),
  caRootCertPath: option.text(
    '/var/run/secrets/istio/root-cert.pem',
    'root that signed the CA serving certificate',
    { placeholder: 'FILE' },
  ),
  caTokenPath: option.text(
    '/var/run/secrets/kubernetes.io/serviceaccount/token',
    'ServiceAccount token for the CSR',
    { placeholder: 'FILE' },
  ),
  certsDir: option.text('/etc/certs', 'mounted istio.<sa> Secret', { placeholder: 'DIR' }),
  certTtl: option.duration('24h', 'requested certificate lifetime'),
  trustDomain: option.text('cluster.local', 'SPIFFE trust domain', {
    placeholder: 'NAME',
    check: (v) => (/^[a-z0-9.-]+$/.test(v) ? undefined : 'is not a DNS-like name'),
  }),
  domain: option.string('node id domain (default <namespace>.svc.cluster.local)', {
    placeholder: 'NAME',
  }),
  startEnvoy: option.bool(true, 'start Envoy'),
  kubeconfig: option.string('router: reads kubernetes:// TLS Secrets (default in-cluster)', {
    placeholder: 'FILE',
  }),
};

export type AgentFlag = keyof typeof agentOptions;

const defaultDiscoveryAddress = 'istio-pilot.istio-system:15010';

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
  /** Percent (0–100) of traces the agent starts itself (Report flushes, checks without context). */
  readonly traceSampling: number;
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
  return usageError(message);
}

function requireEnv(env: NodeJS.ProcessEnv, name: string, fallback?: string): string {
  const v = env[name] ?? fallback;
  if (v === undefined || v === '') {
    throw usage(`environment variable ${name} is not set (the injector sets it from the pod)`);
  }
  return v;
}

/**
 * A VM's address when INSTANCE_IP is not set: its first IPv4 address that is not loopback (else
 * its first global IPv6 address), as the interfaces list them.
 */
export function hostAddress(
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): string {
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal);
  const found =
    external.find((a) => a.family === 'IPv4') ??
    external.find((a) => a.family === 'IPv6' && !a.address.startsWith('fe80:'));
  if (found === undefined) {
    throw usage('INSTANCE_IP is not set and this host has no address but loopback: set it');
  }
  return found.address;
}

/** Parses flags (absent = default) and env into the agent's configuration. */
export function parseAgentConfig(
  mode: AgentMode,
  flags: Readonly<Partial<Record<AgentFlag, string>>>,
  env: NodeJS.ProcessEnv,
): AgentConfig {
  return agentSettings(mode, parseOptions(agentOptions, flags), env);
}

/** The agent's configuration from its parsed options and the pod's environment. */
export function agentSettings(
  mode: AgentMode,
  v: OptionValues<typeof agentOptions>,
  env: NodeJS.ProcessEnv,
): AgentConfig {
  // In a pod the injector sets both; on a VM (docs/vm.md) they may be left out.
  const ip = env['INSTANCE_IP'] === undefined ? hostAddress() : requireEnv(env, 'INSTANCE_IP');
  if (isIP(ip) === 0) throw usage(`INSTANCE_IP: "${ip}" is not an IP address`);
  const namespace = requireEnv(env, 'POD_NAMESPACE');
  const pod: PodIdentity = {
    name: env['POD_NAME'] === undefined ? hostname() : requireEnv(env, 'POD_NAME'),
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
  for (const [k, x] of Object.entries(env)) {
    if (k.startsWith('ISTIO_META_') && x !== undefined) extraMetadata[k.slice(11)] = x;
  }
  const configPath = v.configPath;
  return {
    mode,
    configPath,
    binaryPath: v.binaryPath,
    serviceCluster: v.serviceCluster,
    drainMs: v.drainDuration,
    parentShutdownMs: v.parentShutdownDuration,
    discoveryAddress: v.discoveryAddress ?? defaultDiscoveryAddress,
    connectTimeoutMs: v.connectTimeout,
    proxyAdminPort: v.proxyAdminPort,
    statusPort: v.statusPort,
    readinessPort: v.readinessPort,
    statsPort: v.statsPort,
    concurrency: v.concurrency,
    proxyLogLevel: v.proxyLogLevel,
    zipkinAddress: v.zipkinAddress,
    traceSampling: v.traceSampling,
    statsdUdpAddress: v.statsdUdpAddress,
    mixerAddress: v.mixerAddress,
    mixerFailOpen: v.mixerFailOpen,
    mixerCheckTimeoutMs: v.mixerCheckTimeout,
    caAddress: v.caAddress,
    caRootCertPath: v.caRootCertPath,
    caTokenPath: v.caTokenPath,
    certsDir: v.certsDir,
    certTtlMs: v.certTtl,
    trustDomain: v.trustDomain,
    domain: v.domain ?? `${namespace}.svc.cluster.local`,
    startEnvoy: v.startEnvoy,
    kubeconfig: v.kubeconfig,
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

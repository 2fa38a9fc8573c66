/**
 * The one template: what a pod gets. `istio-init` (capture rules), `istio-proxy` (the agent and
 * Envoy), and the volumes they use, rendered from the injector config, the mesh's proxy config and
 * the pod's annotations. Returns plain JSON; the caller places it in the pod.
 */
import type { JsonObject } from '../lib/json.ts';
import type { ProxyConfig } from '../lib/mesh-config.ts';
import { Port } from '../lib/ports.ts';
import { initArgs, type CaptureSpec } from './capture.ts';
import type { InjectorConfig, Resources } from './config.ts';

export const ProxyContainer = 'istio-proxy';
export const InitContainer = 'istio-init';
export const EnvoyVolume = 'istio-envoy';
export const CertsVolume = 'istio-certs';
export const CertsMountPath = '/etc/certs/';
/** CSR mode: the projected ServiceAccount token the agent shows the CA (as Istio mounts it). */
export const TokenVolume = 'istio-token';
export const TokenMountPath = '/var/run/secrets/tokens';
export const TokenAudience = 'istio-ca';
const TokenFile = 'istio-token';
const TokenLifetimeSeconds = 43_200;

export interface SidecarInput {
  readonly config: InjectorConfig;
  readonly proxyConfig: ProxyConfig;
  /** Mesh-wide settings the agent needs: Mixer's address (empty: no policy) and the trust domain. */
  readonly mixerAddress: string;
  readonly trustDomain: string;
  /** The CA's address for CSRs; empty: certificates from the mounted `istio.<sa>` Secret. */
  readonly caAddress: string;
  readonly capture: CaptureSpec;
  readonly resources: Resources;
  /** The pod's `app` label, if any: its service cluster. */
  readonly app: string | undefined;
  readonly serviceAccount: string;
  readonly native: boolean;
}

function resourcesJson(r: Resources): JsonObject {
  const out: JsonObject = {};
  if (Object.keys(r.requests).length > 0) out['requests'] = { ...r.requests };
  if (Object.keys(r.limits).length > 0) out['limits'] = { ...r.limits };
  return out;
}

function fieldEnv(name: string, fieldPath: string): JsonObject {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

function agentArgs(input: SidecarInput): string[] {
  const p = input.proxyConfig;
  const args = [
    'agent',
    'sidecar',
    '--configPath',
    p.configPath,
    '--binaryPath',
    p.binaryPath,
    '--serviceCluster',
    input.app ?? p.serviceCluster,
    '--drainDuration',
    p.drainDuration,
    '--parentShutdownDuration',
    p.parentShutdownDuration,
    '--discoveryAddress',
    p.discoveryAddress,
    '--connectTimeout',
    p.connectTimeout,
    '--proxyAdminPort',
    String(p.proxyAdminPort),
    '--statusPort',
    String(p.statusPort),
    '--concurrency',
    String(p.concurrency),
    '--proxyLogLevel',
    input.config.proxy.logLevel,
  ];
  if (input.mixerAddress !== '') args.push('--mixerAddress', input.mixerAddress);
  if (input.trustDomain !== 'cluster.local') args.push('--trustDomain', input.trustDomain);
  if (p.zipkinAddress !== '') {
    args.push('--zipkinAddress', p.zipkinAddress, '--traceSampling', String(p.tracing.sampling));
  }
  if (p.statsdUdpAddress !== '') args.push('--statsdUdpAddress', p.statsdUdpAddress);
  if (input.caAddress !== '') {
    // The key stays in the pod; the Secret's root-cert.pem (the CA writes one for every account)
    // is what the agent trusts the CA's own certificate with.
    args.push(
      '--caAddress',
      input.caAddress,
      '--caRootCertPath',
      `${CertsMountPath}root-cert.pem`,
      '--caTokenPath',
      `${TokenMountPath}/${TokenFile}`,
    );
  }
  return args;
}

export function renderProxy(input: SidecarInput): JsonObject {
  const { config, proxyConfig } = input;
  const readiness = { path: '/healthz/ready', port: Port.Readiness, scheme: 'HTTP' };
  const container: JsonObject = {
    name: ProxyContainer,
    image: config.proxy.image,
    imagePullPolicy: config.proxy.imagePullPolicy,
    args: agentArgs(input),
    env: [
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('INSTANCE_IP', 'status.podIP'),
      fieldEnv('HOST_IP', 'status.hostIP'),
      fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    ],
    ports: [
      { name: 'http-envoy-prom', containerPort: Port.EnvoyPrometheus, protocol: 'TCP' },
      { name: 'status-port', containerPort: Port.Readiness, protocol: 'TCP' },
    ],
    readinessProbe: {
      httpGet: readiness,
      initialDelaySeconds: 1,
      periodSeconds: 2,
      timeoutSeconds: 3,
      failureThreshold: 30,
    },
    resources: resourcesJson(input.resources),
    securityContext: {
      runAsUser: config.proxy.uid,
      runAsGroup: config.proxy.gid,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: EnvoyVolume, mountPath: proxyConfig.configPath },
      { name: CertsVolume, mountPath: CertsMountPath, readOnly: true },
      ...(input.caAddress === ''
        ? []
        : [{ name: TokenVolume, mountPath: TokenMountPath, readOnly: true }]),
    ],
  };
  if (input.native) {
    // A native sidecar: an init container that keeps running; the startup probe holds the next
    // containers until the proxy is ready.
    container['restartPolicy'] = 'Always';
    container['startupProbe'] = {
      httpGet: readiness,
      periodSeconds: 1,
      timeoutSeconds: 3,
      failureThreshold: 600,
    };
  } else if (proxyConfig.holdApplicationUntilProxyStarts) {
    container['lifecycle'] = {
      postStart: { exec: { command: ['istio-lite', 'agent', 'wait'] } },
    };
  }
  return container;
}

export function renderInit(input: SidecarInput): JsonObject {
  const { config } = input;
  return {
    name: InitContainer,
    image: config.proxyInit.image,
    imagePullPolicy: config.proxy.imagePullPolicy,
    args: initArgs(input.capture, config.proxy.uid, config.proxy.gid),
    resources: resourcesJson(config.proxyInit.resources),
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: false,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
}

export function renderVolumes(input: SidecarInput): JsonObject[] {
  const token: JsonObject = {
    name: TokenVolume,
    projected: {
      sources: [
        {
          serviceAccountToken: {
            audience: TokenAudience,
            expirationSeconds: TokenLifetimeSeconds,
            path: TokenFile,
          },
        },
      ],
    },
  };
  return [
    { name: EnvoyVolume, emptyDir: { medium: 'Memory' } },
    { name: CertsVolume, secret: { secretName: `istio.${input.serviceAccount}`, optional: true } },
    ...(input.caAddress === '' ? [] : [token]),
  ];
}

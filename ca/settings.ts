/**
 * `istio-lite ca` configuration: defaults, then environment (POD_NAMESPACE, TRUST_DOMAIN, as a
 * Deployment sets them), then flags; parsed once into a readonly object and validated at start.
 * A bad value is an error naming the flag.
 */
import { dnsName } from '../lib/config/checks.ts';
import {
  option,
  parseOptions,
  usageError,
  type OptionValues,
  type RawValue,
} from '../lib/config/options.ts';
import type { IstioLiteError } from '../lib/errors.ts';
import { KeyAlgorithm } from '../lib/pki/keys.ts';
import { Port } from '../lib/ports.ts';
import type { SigningFiles } from './root-store.ts';

export interface CaConfig {
  readonly namespace: string;
  readonly kubeconfig?: string;
  readonly trustDomain: string;
  readonly grpcHost: string;
  readonly grpcPort: number;
  /** Extra names in the CA's serving certificate (besides istio-ca.<ns>.svc…). */
  readonly grpcHostnames: readonly string[];
  readonly monitoringHost: string;
  readonly monitoringPort: number;
  readonly rootKeyAlgorithm: KeyAlgorithm;
  readonly rootTtlMs: number;
  readonly selfSignedOrg: string;
  readonly signingFiles?: SigningFiles;
  readonly pluggedSecretName: string;
  readonly workloadTtlMs: number;
  readonly maxWorkloadTtlMs: number;
  readonly graceRatio: number;
  readonly workloadKeyAlgorithm: KeyAlgorithm;
  readonly excludedNamespaces: readonly string[];
  /** Only this namespace gets istio.<sa> Secrets (0.2's --listened-namespace); all when absent. */
  readonly listenedNamespace?: string;
  readonly bootstrapTokenFile?: string;
  /** Watch bootstrap token Secrets in `namespace` (ca/bootstrap-token-secrets.ts). */
  readonly bootstrapTokenSecrets: boolean;
  readonly tokenAudiences: readonly string[];
  readonly serverCertTtlMs: number;
}

const hours = (h: number) => `${String(h)}h`;

/** The options of `istio-lite ca` (lib/config/options.ts): flags, env vars, defaults, checks. */
export const caOptions = {
  namespace: option.text('istio-system', 'namespace of istio-ca-secret and cacerts', {
    env: 'POD_NAMESPACE',
    placeholder: 'NS',
    check: dnsName,
  }),
  kubeconfig: option.string('kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)', {
    placeholder: 'FILE',
  }),
  'trust-domain': option.text('cluster.local', 'SPIFFE trust domain', {
    env: 'TRUST_DOMAIN',
    placeholder: 'TD',
    check: dnsName,
  }),
  'grpc-host': option.text('0.0.0.0', 'CSR service address', { placeholder: 'ADDR' }),
  'grpc-port': option.port(Port.CaGrpc, 'CSR service port (0 = any)'),
  'grpc-hostname': option.list([], 'extra DNS names/IPs in the serving certificate'),
  'monitoring-host': option.text('0.0.0.0', '/healthz, /ready, /metrics address', {
    placeholder: 'ADDR',
  }),
  'monitoring-port': option.port(Port.Monitoring, 'monitoring port (0 = any)'),
  'key-algorithm': option.oneOf(KeyAlgorithm, 'ecdsa-p256', 'self-signed root key'),
  'root-cert-ttl': option.duration(hours(87600), 'self-signed root lifetime (10 years)', {
    minMs: 3_600_000,
  }),
  'self-signed-ca-org': option.string('self-signed root organization (default: the trust domain)', {
    placeholder: 'O',
  }),
  'signing-cert': option.string('bring your own CA: signing certificate (with --signing-key)', {
    placeholder: 'FILE',
  }),
  'signing-key': option.string('its private key', { placeholder: 'FILE' }),
  'root-cert': option.string('the root, when the signing certificate is an intermediate', {
    placeholder: 'FILE',
  }),
  'cert-chain': option.string('certificates from the signing certificate up to the root', {
    placeholder: 'FILE',
  }),
  'cacerts-secret': option.text('cacerts', 'bring-your-own Secret in --namespace', {
    placeholder: 'NAME',
  }),
  'workload-cert-ttl': option.duration('24h', 'leaf lifetime', { minMs: 1000 }),
  'max-workload-cert-ttl': option.duration(hours(2160), 'longest lifetime a CSR may ask for', {
    minMs: 1000,
  }),
  'workload-cert-grace-period-ratio': option.ratio(0.5, 'renew after this part of the lifetime'),
  'workload-key-algorithm': option.oneOf(KeyAlgorithm, 'ecdsa-p256', 'key of istio.<sa> Secrets'),
  'exclude-namespaces': option.list(
    ['kube-system', 'kube-public', 'kube-node-lease'],
    'no istio.<sa> Secrets here',
  ),
  'listened-namespace': option.string(
    'only this namespace gets istio.<sa> Secrets (default: all)',
    {
      placeholder: 'NS',
      check: dnsName,
    },
  ),
  'bootstrap-token-file': option.string(
    'per-node bootstrap tokens for VMs (YAML; see ca/bootstrap-tokens.ts)',
    { placeholder: 'FILE' },
  ),
  'bootstrap-token-secrets': option.bool(
    true,
    'also take VM bootstrap tokens from Secrets of type istio-lite.io/bootstrap-token in --namespace',
  ),
  'token-audiences': option.list(
    [],
    "audiences ServiceAccount tokens must carry (default: the API server's)",
  ),
  'server-cert-ttl': option.duration(
    hours(720),
    "lifetime of the CA's serving certificate, renewed at half",
    {
      minMs: 60_000,
    },
  ),
};

function bad(flag: string, message: string): IstioLiteError {
  return usageError(`--${flag}: ${message}`);
}

/** Parses raw flags and env into the CA's settings (tests and `npm start` call it directly). */
export function parseCaConfig(
  flags: Readonly<Record<string, RawValue>>,
  env: NodeJS.ProcessEnv,
): CaConfig {
  return caSettings(parseOptions(caOptions, flags, env));
}

/** The cross-flag checks, and the settings the CA runs with. */
export function caSettings(v: OptionValues<typeof caOptions>): CaConfig {
  if (v['workload-cert-ttl'] > v['max-workload-cert-ttl']) {
    throw bad('workload-cert-ttl', 'must not exceed --max-workload-cert-ttl');
  }
  const signingCert = v['signing-cert'];
  const signingKey = v['signing-key'];
  if ((signingCert === undefined) !== (signingKey === undefined)) {
    throw bad(
      signingCert === undefined ? 'signing-cert' : 'signing-key',
      'is required with --signing-cert/--signing-key',
    );
  }
  for (const f of ['root-cert', 'cert-chain'] as const) {
    if (v[f] !== undefined && signingCert === undefined) {
      throw bad(f, 'needs --signing-cert and --signing-key');
    }
  }
  const rootCert = v['root-cert'];
  const certChain = v['cert-chain'];
  const kubeconfig = v.kubeconfig;
  const bootstrapTokenFile = v['bootstrap-token-file'];
  const listenedNamespace = v['listened-namespace'];
  return {
    namespace: v.namespace,
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    trustDomain: v['trust-domain'],
    grpcHost: v['grpc-host'],
    grpcPort: v['grpc-port'],
    grpcHostnames: v['grpc-hostname'],
    monitoringHost: v['monitoring-host'],
    monitoringPort: v['monitoring-port'],
    rootKeyAlgorithm: v['key-algorithm'],
    rootTtlMs: v['root-cert-ttl'],
    selfSignedOrg: v['self-signed-ca-org'] ?? v['trust-domain'],
    ...(signingCert !== undefined && signingKey !== undefined
      ? {
          signingFiles: {
            signingCert,
            signingKey,
            ...(rootCert === undefined ? {} : { rootCert }),
            ...(certChain === undefined ? {} : { certChain }),
          },
        }
      : {}),
    pluggedSecretName: v['cacerts-secret'],
    workloadTtlMs: v['workload-cert-ttl'],
    maxWorkloadTtlMs: v['max-workload-cert-ttl'],
    graceRatio: v['workload-cert-grace-period-ratio'],
    workloadKeyAlgorithm: v['workload-key-algorithm'],
    excludedNamespaces: v['exclude-namespaces'],
    ...(listenedNamespace === undefined ? {} : { listenedNamespace }),
    ...(bootstrapTokenFile === undefined ? {} : { bootstrapTokenFile }),
    bootstrapTokenSecrets: v['bootstrap-token-secrets'],
    tokenAudiences: v['token-audiences'],
    serverCertTtlMs: v['server-cert-ttl'],
  };
}

/**
 * `istio-lite ca` configuration: defaults, then environment (POD_NAMESPACE, TRUST_DOMAIN, as a
 * Deployment sets them), then flags; parsed once into a readonly object and validated at start.
 * A bad value is an error naming the flag.
 */
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { portError } from '../lib/net.ts';
import { isKeyAlgorithm, KeyAlgorithm } from '../lib/pki/keys.ts';
import { Port } from '../lib/ports.ts';
import { durationMs, isDuration } from '../lib/validate.ts';
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
  readonly tokenAudiences: readonly string[];
  readonly serverCertTtlMs: number;
}

/** The flags, for cli/commands/ca.ts (node:util parseArgs options). */
export const caFlags = {
  namespace: { type: 'string' },
  kubeconfig: { type: 'string' },
  'trust-domain': { type: 'string' },
  'grpc-host': { type: 'string' },
  'grpc-port': { type: 'string' },
  'grpc-hostname': { type: 'string' },
  'monitoring-host': { type: 'string' },
  'monitoring-port': { type: 'string' },
  'key-algorithm': { type: 'string' },
  'root-cert-ttl': { type: 'string' },
  'self-signed-ca-org': { type: 'string' },
  'signing-cert': { type: 'string' },
  'signing-key': { type: 'string' },
  'root-cert': { type: 'string' },
  'cert-chain': { type: 'string' },
  'cacerts-secret': { type: 'string' },
  'workload-cert-ttl': { type: 'string' },
  'max-workload-cert-ttl': { type: 'string' },
  'workload-cert-grace-period-ratio': { type: 'string' },
  'workload-key-algorithm': { type: 'string' },
  'exclude-namespaces': { type: 'string' },
  'listened-namespace': { type: 'string' },
  'bootstrap-token-file': { type: 'string' },
  'token-audiences': { type: 'string' },
  'server-cert-ttl': { type: 'string' },
} as const;

export const caFlagsHelp = [
  '      --namespace NS                 namespace of istio-ca-secret and cacerts (env POD_NAMESPACE; default istio-system)',
  '      --kubeconfig FILE              kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)',
  '      --trust-domain TD              SPIFFE trust domain (env TRUST_DOMAIN; default cluster.local)',
  '      --grpc-host ADDR               CSR service address (default 0.0.0.0)',
  `      --grpc-port N                  CSR service port (default ${Port.CaGrpc}; 0 = any)`,
  '      --grpc-hostname H,...          extra DNS names/IPs in the serving certificate',
  '      --monitoring-host ADDR         /healthz, /ready, /metrics address (default 0.0.0.0)',
  `      --monitoring-port N            monitoring port (default ${Port.Monitoring}; 0 = any)`,
  `      --key-algorithm ALG            self-signed root key: ${KeyAlgorithm.join('|')} (default ecdsa-p256)`,
  '      --root-cert-ttl D              self-signed root lifetime (default 87600h = 10 years)',
  '      --self-signed-ca-org O         self-signed root organization (default: the trust domain)',
  '      --signing-cert FILE            bring your own CA: signing certificate (with --signing-key)',
  '      --signing-key FILE             its private key',
  '      --root-cert FILE               the root, when the signing certificate is an intermediate',
  '      --cert-chain FILE              certificates from the signing certificate up to the root',
  '      --cacerts-secret NAME          bring-your-own Secret in --namespace (default cacerts)',
  '      --workload-cert-ttl D          leaf lifetime (default 24h)',
  '      --max-workload-cert-ttl D      longest lifetime a CSR may ask for (default 2160h = 90 days)',
  '      --workload-cert-grace-period-ratio R  renew after this part of the lifetime (default 0.5)',
  '      --workload-key-algorithm ALG   key of istio.<sa> Secrets (default ecdsa-p256)',
  '      --exclude-namespaces NS,...    no istio.<sa> Secrets here (default kube-system,kube-public,kube-node-lease)',
  '      --listened-namespace NS        only this namespace gets istio.<sa> Secrets (default: all)',
  '      --bootstrap-token-file FILE    per-node bootstrap tokens for VMs (YAML; see ca/bootstrap-tokens.ts)',
  "      --token-audiences A,...        audiences ServiceAccount tokens must carry (default: the API server's)",
  "      --server-cert-ttl D            lifetime of the CA's serving certificate, renewed at half (default 720h)",
].join('\n');

function bad(flag: string, message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.Usage, `--${flag}: ${message}`);
}

type Flags = Readonly<Record<string, unknown>>;

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

function list(flags: Flags, name: string, def: readonly string[]): readonly string[] {
  const v = str(flags, name);
  if (v === undefined) return def;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function portFlag(flags: Flags, name: string, def: number): number {
  const v = str(flags, name);
  if (v === undefined) return def;
  if (v === '0') return 0;
  if (portError(v) !== undefined)
    throw bad(name, `"${v}" is not a port (0-65535; 0 picks a free one)`);
  return Number(v);
}

export function durationFlag(flags: Flags, name: string, def: string, minMs = 1000): number {
  const v = str(flags, name) ?? def;
  if (!isDuration(v)) throw bad(name, `"${v}" is not a duration like 24h or 90m`);
  const ms = durationMs(v);
  if (ms < minMs) throw bad(name, `"${v}" is shorter than ${minMs / 1000}s`);
  return ms;
}

export function keyAlgorithmFlag(flags: Flags, name: string): KeyAlgorithm {
  const v = str(flags, name) ?? 'ecdsa-p256';
  if (!isKeyAlgorithm(v)) throw bad(name, `"${v}" is not one of ${KeyAlgorithm.join(', ')}`);
  return v;
}

export function ratioFlag(flags: Flags, name: string, def: number): number {
  const v = str(flags, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n >= 1)
    throw bad(name, `"${v}" must be a number between 0 and 1`);
  return n;
}

const dnsName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function parseCaConfig(flags: Flags, env: NodeJS.ProcessEnv): CaConfig {
  const namespace = str(flags, 'namespace') ?? env['POD_NAMESPACE'] ?? 'istio-system';
  if (!dnsName.test(namespace)) throw bad('namespace', `"${namespace}" is not a namespace name`);
  const trustDomain = str(flags, 'trust-domain') ?? env['TRUST_DOMAIN'] ?? 'cluster.local';
  if (!dnsName.test(trustDomain))
    throw bad('trust-domain', `"${trustDomain}" is not a DNS-like name`);
  const workloadTtlMs = durationFlag(flags, 'workload-cert-ttl', '24h');
  const maxWorkloadTtlMs = durationFlag(flags, 'max-workload-cert-ttl', '2160h');
  if (workloadTtlMs > maxWorkloadTtlMs) {
    throw bad('workload-cert-ttl', 'must not exceed --max-workload-cert-ttl');
  }
  const signingCert = str(flags, 'signing-cert');
  const signingKey = str(flags, 'signing-key');
  if ((signingCert === undefined) !== (signingKey === undefined)) {
    throw bad(
      signingCert === undefined ? 'signing-cert' : 'signing-key',
      'is required with --signing-cert/--signing-key',
    );
  }
  for (const f of ['root-cert', 'cert-chain']) {
    if (str(flags, f) !== undefined && signingCert === undefined)
      throw bad(f, 'needs --signing-cert and --signing-key');
  }
  const rootCert = str(flags, 'root-cert');
  const certChain = str(flags, 'cert-chain');
  const kubeconfig = str(flags, 'kubeconfig');
  const bootstrapTokenFile = str(flags, 'bootstrap-token-file');
  const listenedNamespace = str(flags, 'listened-namespace');
  if (listenedNamespace !== undefined && !dnsName.test(listenedNamespace)) {
    throw bad('listened-namespace', `"${listenedNamespace}" is not a namespace name`);
  }
  return {
    namespace,
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    trustDomain,
    grpcHost: str(flags, 'grpc-host') ?? '0.0.0.0',
    grpcPort: portFlag(flags, 'grpc-port', Port.CaGrpc),
    grpcHostnames: list(flags, 'grpc-hostname', []),
    monitoringHost: str(flags, 'monitoring-host') ?? '0.0.0.0',
    monitoringPort: portFlag(flags, 'monitoring-port', Port.Monitoring),
    rootKeyAlgorithm: keyAlgorithmFlag(flags, 'key-algorithm'),
    rootTtlMs: durationFlag(flags, 'root-cert-ttl', '87600h', 3_600_000),
    selfSignedOrg: str(flags, 'self-signed-ca-org') ?? trustDomain,
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
    pluggedSecretName: str(flags, 'cacerts-secret') ?? 'cacerts',
    workloadTtlMs,
    maxWorkloadTtlMs,
    graceRatio: ratioFlag(flags, 'workload-cert-grace-period-ratio', 0.5),
    workloadKeyAlgorithm: keyAlgorithmFlag(flags, 'workload-key-algorithm'),
    excludedNamespaces: list(flags, 'exclude-namespaces', [
      'kube-system',
      'kube-public',
      'kube-node-lease',
    ]),
    ...(listenedNamespace === undefined ? {} : { listenedNamespace }),
    ...(bootstrapTokenFile === undefined ? {} : { bootstrapTokenFile }),
    tokenAudiences: list(flags, 'token-audiences', []),
    serverCertTtlMs: durationFlag(flags, 'server-cert-ttl', '720h', 60_000),
  };
}

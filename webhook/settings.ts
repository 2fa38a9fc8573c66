/**
 * `istio-lite webhook`'s settings: the options (flags, with defaults and checks), parsed once into
 * a readonly object. A bad value is an error naming the flag.
 */
import { isIP } from 'node:net';
import { dnsName } from '../lib/config/checks.ts';
import { option, usageError, type OptionValues } from '../lib/config/options.ts';
import { Port } from '../lib/ports.ts';
import { FailureMode } from './injector.ts';

export const webhookOptions = {
  port: option.port(Port.Injector, 'HTTPS port'),
  host: option.text('0.0.0.0', 'listen address', { placeholder: 'ADDR' }),
  injectConfig: option.string(
    'injector config (the mounted istio-sidecar-injector ConfigMap key), reloaded on change',
    { placeholder: 'FILE' },
  ),
  meshConfig: option.string('mesh config (the mounted istio ConfigMap key), reloaded on change', {
    placeholder: 'FILE',
  }),
  tlsCertFile: option.string(
    'serving certificate (reloaded on change); without it the webhook manages its own',
    { placeholder: 'FILE' },
  ),
  tlsKeyFile: option.string('serving key', { placeholder: 'FILE' }),
  kubeconfig: option.string('kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)', {
    placeholder: 'FILE',
  }),
  namespace: option.text('istio-system', 'control-plane namespace', {
    env: 'POD_NAMESPACE',
    placeholder: 'NS',
    check: dnsName,
  }),
  secretName: option.text('istio-sidecar-injector-certs', 'Secret for self-managed certificates', {
    placeholder: 'NAME',
  }),
  webhookConfigName: option.text(
    'istio-sidecar-injector',
    'MutatingWebhookConfiguration to keep caBundle patched',
    { placeholder: 'NAME' },
  ),
  webhookConfigLabel: option.text(
    'app=istio-sidecar-injector',
    'also patch configurations with this label',
    { placeholder: 'K=V' },
  ),
  serviceName: option.text(
    'istio-sidecar-injector',
    'Service whose DNS names the certificate covers',
    {
      placeholder: 'NAME',
    },
  ),
  extraSANs: option.list([], 'more names or IPs for the certificate'),
  certLifetime: option.duration('8760h', 'serving certificate lifetime (renewed at 2/3)'),
  caLifetime: option.duration('87600h', 'CA lifetime'),
  failureMode: option.oneOf(
    FailureMode,
    'deny',
    'deny or allow a pod when injection fails unexpectedly',
  ),
  maxBodyBytes: option.number(6 * 1024 * 1024, 'largest AdmissionReview accepted, in bytes', {
    min: 1024,
    max: 1 << 30,
    integer: true,
  }),
};

export interface WebhookSettings {
  readonly port: number;
  readonly host: string;
  /** The mounted injector and mesh config files (reloaded on change); absent: the defaults. */
  readonly injectConfigFile?: string | undefined;
  readonly meshConfigFile?: string | undefined;
  /** Mounted serving certificate and key (reloaded on change); absent: self-managed. */
  readonly tlsCertFile?: string | undefined;
  readonly tlsKeyFile?: string | undefined;
  /** undefined: KUBECONFIG, in-cluster, ~/.kube/config. */
  readonly kubeconfig?: string | undefined;
  /** The control plane's namespace (holds the certificate Secret). */
  readonly namespace: string;
  readonly secretName: string;
  /** The MutatingWebhookConfiguration(s) whose caBundle is kept: by name, and by label. */
  readonly webhookConfigName: string;
  readonly webhookConfigLabel?: string | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly certLifetimeMs: number;
  readonly caLifetimeMs: number;
  readonly failureMode: FailureMode;
  readonly bodyLimitBytes: number;
}

export function webhookSettings(v: OptionValues<typeof webhookOptions>): WebhookSettings {
  if ((v.tlsCertFile === undefined) !== (v.tlsKeyFile === undefined)) {
    throw usageError('--tlsCertFile and --tlsKeyFile go together');
  }
  const service = v.serviceName;
  const ns = v.namespace;
  const ips = v.extraSANs.filter((s) => isIP(s) !== 0);
  return {
    port: v.port,
    host: v.host,
    injectConfigFile: v.injectConfig,
    meshConfigFile: v.meshConfig,
    tlsCertFile: v.tlsCertFile,
    tlsKeyFile: v.tlsKeyFile,
    kubeconfig: v.kubeconfig,
    namespace: ns,
    secretName: v.secretName,
    webhookConfigName: v.webhookConfigName,
    webhookConfigLabel: v.webhookConfigLabel,
    dnsNames: [
      service,
      `${service}.${ns}`,
      `${service}.${ns}.svc`,
      ...v.extraSANs.filter((s) => isIP(s) === 0),
    ],
    ipAddresses: ips,
    certLifetimeMs: v.certLifetime,
    caLifetimeMs: v.caLifetime,
    failureMode: v.failureMode,
    bodyLimitBytes: v.maxBodyBytes,
  };
}

/** `istio-lite webhook`: the sidecar injector (MutatingWebhook on HTTPS 15017). */
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { createLogger } from '../../lib/log.ts';
import { Port } from '../../lib/ports.ts';
import { FailureMode } from '../../webhook/injector.ts';
import { runWebhook } from '../../webhook/run.ts';
import type { Command } from '../command.ts';
import {
  durationFlag,
  listFlag,
  oneOfFlag,
  portFlag,
  stringFlag,
  untilSignal,
  usage,
} from '../flags.ts';

export const webhook: Command = {
  name: 'webhook',
  summary: 'Run the sidecar injector (mutating admission webhook).',
  usage:
    'webhook [--port 15017] [--injectConfig FILE] [--meshConfig FILE] [--tlsCertFile F --tlsKeyFile F]',
  help: [
    '      --port N                 HTTPS port (default 15017)',
    '      --host ADDR              listen address (default 0.0.0.0)',
    '      --injectConfig FILE      injector config (the mounted istio-sidecar-injector ConfigMap key), reloaded on change',
    '      --meshConfig FILE        mesh config (the mounted istio ConfigMap key), reloaded on change',
    '      --tlsCertFile FILE       serving certificate (reloaded on change); without it the webhook manages its own',
    '      --tlsKeyFile FILE        serving key',
    '      --kubeconfig FILE        kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)',
    '      --namespace NS           control-plane namespace (default POD_NAMESPACE or istio-system)',
    '      --secretName NAME        Secret for self-managed certificates (default istio-sidecar-injector-certs)',
    '      --webhookConfigName NAME MutatingWebhookConfiguration to keep caBundle patched (default istio-sidecar-injector)',
    '      --webhookConfigLabel K=V also patch configurations with this label (default app=istio-sidecar-injector)',
    '      --serviceName NAME       Service whose DNS names the certificate covers (default istio-sidecar-injector)',
    '      --extraSANs LIST         more names or IPs for the certificate (comma-separated)',
    '      --certLifetime DUR       serving certificate lifetime (default 8760h; renewed at 2/3)',
    '      --caLifetime DUR         CA lifetime (default 87600h)',
    '      --failureMode MODE       deny or allow a pod when injection fails unexpectedly (default deny)',
    '      --maxBodyBytes N         largest AdmissionReview accepted (default 6291456)',
  ].join('\n'),
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    injectConfig: { type: 'string' },
    meshConfig: { type: 'string' },
    tlsCertFile: { type: 'string' },
    tlsKeyFile: { type: 'string' },
    kubeconfig: { type: 'string' },
    namespace: { type: 'string' },
    secretName: { type: 'string' },
    webhookConfigName: { type: 'string' },
    webhookConfigLabel: { type: 'string' },
    serviceName: { type: 'string' },
    extraSANs: { type: 'string' },
    certLifetime: { type: 'string' },
    caLifetime: { type: 'string' },
    failureMode: { type: 'string' },
    maxBodyBytes: { type: 'string' },
  },
  async run(flags, _pos, io) {
    const cert = stringFlag(flags, 'tlsCertFile');
    const key = stringFlag(flags, 'tlsKeyFile');
    if ((cert === undefined) !== (key === undefined))
      throw usage('--tlsCertFile and --tlsKeyFile go together');
    const maxBody = stringFlag(flags, 'maxBodyBytes') ?? '6291456';
    if (!/^\d+$/.test(maxBody) || Number(maxBody) < 1024)
      throw usage(`--maxBodyBytes: "${maxBody}" must be a number of bytes >= 1024`);
    const namespace = stringFlag(flags, 'namespace') ?? io.env['POD_NAMESPACE'] ?? 'istio-system';
    const service = stringFlag(flags, 'serviceName') ?? 'istio-sidecar-injector';
    const extra = listFlag(flags, 'extraSANs');
    const isIp = (s: string) => /^[\d.]+$/.test(s) || s.includes(':');
    const options = {
      port: portFlag(flags, 'port', Port.Injector),
      host: stringFlag(flags, 'host') ?? '0.0.0.0',
      injectConfigFile: stringFlag(flags, 'injectConfig'),
      meshConfigFile: stringFlag(flags, 'meshConfig'),
      tlsCertFile: cert,
      tlsKeyFile: key,
      namespace,
      secretName: stringFlag(flags, 'secretName') ?? 'istio-sidecar-injector-certs',
      webhookConfigName: stringFlag(flags, 'webhookConfigName') ?? 'istio-sidecar-injector',
      webhookConfigLabel: stringFlag(flags, 'webhookConfigLabel') ?? 'app=istio-sidecar-injector',
      dnsNames: [
        service,
        `${service}.${namespace}`,
        `${service}.${namespace}.svc`,
        ...extra.filter((s) => !isIp(s)),
      ],
      ipAddresses: extra.filter(isIp),
      certLifetimeMs: durationFlag(flags, 'certLifetime', '8760h'),
      caLifetimeMs: durationFlag(flags, 'caLifetime', '87600h'),
      failureMode: oneOfFlag(flags, 'failureMode', FailureMode, 'deny'),
      bodyLimitBytes: Number(maxBody),
    };
    const logger = createLogger('webhook');
    const kc = loadKubeConfig(stringFlag(flags, 'kubeconfig'));
    const running = await runWebhook({ ...options, kc, logger });
    const signal = await untilSignal();
    logger.info({ signal }, 'shutting down');
    await running.close();
    return 0;
  },
};

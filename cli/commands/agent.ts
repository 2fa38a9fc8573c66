/**
 * `istio-lite agent sidecar|router|wait`: the `istio-proxy` container (sidecar), gateways
 * (router), and the postStart hook that holds the application until the proxy is ready (wait).
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { agentFlagDefaults, parseAgentConfig, type AgentFlag } from '../../agent/config.ts';
import type { Command, FlagValues } from '../command.ts';
import { portFlag, stringFlag, usage } from '../flags.ts';

const agentFlags = Object.keys(agentFlagDefaults) as AgentFlag[];
const waitFlags = ['timeoutSeconds', 'periodMillis', 'requestTimeoutMillis'] as const;

const options: ParseArgsOptionsConfig = Object.fromEntries(
  [...agentFlags, ...waitFlags].map((f) => [f, { type: 'string' }]),
);

function positiveInt(flags: FlagValues, name: string, def: number): number {
  const v = stringFlag(flags, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw usage(`--${name}: "${v}" is not a positive number`);
  return Number(v);
}

export const agent: Command = {
  name: 'agent',
  summary:
    'Run the sidecar agent (Envoy, SDS, xDS proxy, probes, Mixer client), a gateway, or wait for readiness.',
  usage:
    'agent sidecar|router [--discoveryAddress HOST:PORT] [--mixerAddress HOST:PORT] ... | agent wait [--timeoutSeconds 60]',
  help: [
    '  sidecar | router      the proxy role (router: ingress/egress gateways)',
    '  wait                  poll readiness until ready (holdApplicationUntilProxyStarts)',
    '',
    '      --configPath DIR            Envoy bootstrap and the agent sockets (default /etc/istio/proxy)',
    '      --binaryPath FILE           Envoy (default /usr/local/bin/envoy)',
    '      --serviceCluster NAME       node cluster (default istio-proxy)',
    '      --drainDuration DUR         drain time on shutdown (default 45s)',
    '      --parentShutdownDuration DUR  wait for Envoy to exit before SIGKILL (default 1m0s)',
    '      --discoveryAddress H:P      Pilot ADS (default istio-pilot.istio-system:15010)',
    '      --connectTimeout DUR        connect timeout of the bootstrap clusters (default 10s)',
    '      --proxyAdminPort N          Envoy admin on 127.0.0.1 (default 15000)',
    '      --statusPort N              application probes (default 15020)',
    '      --readinessPort N           /healthz/ready (default 15021)',
    '      --statsPort N               Envoy /stats/prometheus (default 15090)',
    '      --concurrency N             Envoy worker threads (default 2)',
    '      --proxyLogLevel LEVEL       Envoy log level (default warning)',
    '      --zipkinAddress H:P         Zipkin collector (tracing on when set)',
    '      --statsdUdpAddress H:P      statsd sink',
    '      --mixerAddress H:P          Mixer (ext_authz/ALS answered locally, cached); none: allow all',
    '      --mixerFailOpen BOOL        allow when Mixer is unreachable (default true)',
    '      --mixerCheckTimeout DUR     Mixer Check deadline (default 1s)',
    '      --caAddress H:P             CA for a CSR (default: certificates from --certsDir)',
    '      --caRootCertPath FILE       root that signed the CA serving certificate',
    '      --caTokenPath FILE          ServiceAccount token for the CSR',
    '      --certsDir DIR              mounted istio.<sa> Secret (default /etc/certs)',
    '      --certTtl DUR               requested certificate lifetime (default 24h)',
    '      --trustDomain NAME          SPIFFE trust domain (default cluster.local)',
    '      --domain NAME               node id domain (default <namespace>.svc.cluster.local)',
    '      --startEnvoy BOOL           start Envoy (default true)',
    '      --kubeconfig FILE           router: reads kubernetes:// TLS Secrets (default in-cluster)',
    '  wait:',
    '      --readinessPort N           (default 15021)',
    '      --timeoutSeconds N          give up after (default 60)',
    '      --periodMillis N            poll interval (default 500)',
    '      --requestTimeoutMillis N    per request (default 1000)',
    '  env: POD_NAME, POD_NAMESPACE, INSTANCE_IP, HOST_IP, SERVICE_ACCOUNT, ISTIO_KUBE_APP_PROBERS, ISTIO_META_*',
  ].join('\n'),
  options,
  allowPositionals: true,
  async run(flags, positionals, io) {
    const [role, ...extra] = positionals;
    if (extra.length > 0 || (role !== 'sidecar' && role !== 'router' && role !== 'wait')) {
      throw usage(`expected sidecar, router or wait, got "${positionals.join(' ')}"`);
    }
    if (role === 'wait') {
      for (const f of agentFlags) {
        if (f !== 'readinessPort' && flags[f] !== undefined)
          throw usage(`--${f} is not a flag of agent wait`);
      }
      const { waitUntilReady } = await import('../../agent/wait.ts');
      const port = portFlag(flags, 'readinessPort', 15021);
      const ok = await waitUntilReady({
        url: `http://127.0.0.1:${port}/healthz/ready`,
        timeoutMs: positiveInt(flags, 'timeoutSeconds', 60) * 1000,
        periodMs: positiveInt(flags, 'periodMillis', 500),
        requestTimeoutMs: positiveInt(flags, 'requestTimeoutMillis', 1000),
        report: (l) => io.stderr.write(`istio-lite agent wait: ${l}\n`),
      });
      return ok ? 0 : 1;
    }
    for (const f of waitFlags)
      if (flags[f] !== undefined) throw usage(`--${f} is a flag of agent wait only`);
    const given: Partial<Record<AgentFlag, string>> = {};
    for (const f of agentFlags) {
      const v = stringFlag(flags, f);
      if (v !== undefined) given[f] = v;
    }
    const config = parseAgentConfig(role, given, io.env);
    // Loaded only here, so `agent wait` (a postStart hook) stays small and fast.
    const [{ runAgent }, { createLogger }] = await Promise.all([
      import('../../agent/run.ts'),
      import('../../lib/log.ts'),
    ]);
    const logger = createLogger(`agent-${role}`);
    const running = await runAgent({ config, logger, listenHost: '0.0.0.0' });
    await new Promise<void>((resolve) => {
      running.shutdownSteps.installSignalHandlers(() => {
        resolve();
      });
    });
    return 0;
  },
};

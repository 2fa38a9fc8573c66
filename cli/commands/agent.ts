/**
 * `istio-lite agent sidecar|router|wait`: the `istio-proxy` container (sidecar), gateways
 * (router), and the postStart hook that holds the application until the proxy is ready (wait).
 */
import { agentOptions, agentSettings } from '../../agent/settings.ts';
import { applyHeapGrowth, releaseUnusedMemory } from '../../lib/heap.ts';
import { capJitAtMaglev } from '../../lib/jit.ts';
import { option, usageError } from '../../lib/config/options.ts';
import { defineCommand } from '../command.ts';
import { serve } from '../serve.ts';

/** The options of `agent wait` only. */
const waitOptions = {
  timeoutSeconds: option.number(60, 'wait: give up after', { min: 1, max: 86_400, integer: true }),
  periodMillis: option.number(500, 'wait: poll interval', {
    min: 1,
    max: 3_600_000,
    integer: true,
  }),
  requestTimeoutMillis: option.number(1000, 'wait: per request', {
    min: 1,
    max: 3_600_000,
    integer: true,
  }),
};

const agentFlags = Object.keys(agentOptions);
const waitFlags = Object.keys(waitOptions);

export const agent = defineCommand({
  name: 'agent',
  summary:
    'Run the sidecar agent (Envoy, SDS, xDS proxy, probes, Mixer client), a gateway, or wait for readiness.',
  usage:
    'agent sidecar|router [--discoveryAddress HOST:PORT] [--mixerAddress HOST:PORT] ... | agent wait [--timeoutSeconds 60]',
  options: { ...agentOptions, ...waitOptions },
  notes: [
    'Roles:',
    '  sidecar | router   the proxy role (router: ingress/egress gateways)',
    '  wait               poll readiness until ready (holdApplicationUntilProxyStarts); takes',
    '                     --readinessPort and the wait: options',
    'Environment: POD_NAME, POD_NAMESPACE, INSTANCE_IP, HOST_IP, SERVICE_ACCOUNT,',
    '  ISTIO_KUBE_APP_PROBERS, ISTIO_META_*',
  ].join('\n'),
  allowPositionals: true,
  async run(values, positionals, io, given) {
    const [role, ...extra] = positionals;
    if (extra.length > 0 || (role !== 'sidecar' && role !== 'router' && role !== 'wait')) {
      throw usageError(`expected sidecar, router or wait, got "${positionals.join(' ')}"`);
    }
    if (role === 'wait') {
      for (const f of agentFlags) {
        if (f !== 'readinessPort' && given.has(f)) {
          throw usageError(`--${f} is not a flag of agent wait`);
        }
      }
      const { waitUntilReady } = await import('../../agent/wait.ts');
      const ok = await waitUntilReady({
        url: `http://127.0.0.1:${String(values.readinessPort)}/healthz/ready`,
        timeoutMs: values.timeoutSeconds * 1000,
        periodMs: values.periodMillis,
        requestTimeoutMs: values.requestTimeoutMillis,
        report: (l) => io.stderr.write(`istio-lite agent wait: ${l}\n`),
      });
      return ok ? 0 : 1;
    }
    for (const f of waitFlags) {
      if (given.has(f)) throw usageError(`--${f} is a flag of agent wait only`);
    }
    const config = agentSettings(role, values, io.env);
    // Hot code stops at Maglev: TurboFan's compiles take the core from ext_authz (lib/jit.ts).
    capJitAtMaglev();
    // The old generation may double before a mark-compact: after a burst V8's own factor fell to
    // ~1.1, and a mark-compact (5-11 ms, marking steps up to 17 ms) came every 1.5-2.5 s at half
    // the agent's maximum, the ext_authz p99 there (bench/agent; lib/heap.ts).
    applyHeapGrowth(100);
    // Loaded only here, so `agent wait` (a postStart hook) stays small and fast.
    const [{ runAgent }, { createLogger }] = await Promise.all([
      import('../../agent/run.ts'),
      import('../../lib/log.ts'),
    ]);
    const logger = createLogger(`agent-${role}`);
    // SIGTERM: readiness false, Envoy drained, reports flushed, then everything else stopped.
    return serve(logger, async () => {
      const agent = await runAgent({ config, logger, listenHost: '0.0.0.0' });
      // What start-up allocated (modules, protos, the first config) is garbage now: give back
      // the young generation it grew and the pages it left (lib/heap.ts).
      setImmediate(releaseUnusedMemory);
      return agent;
    });
  },
});

/**
 * The agent alone (runAgent, without the istio-lite CLI and the other commands it imports), for
 * bench/agent's memory figures. Flags as `istio-lite agent sidecar`; env as in the pod.
 */
import { parseArgs } from 'node:util';
import { agentFlagDefaults, parseAgentConfig, type AgentFlag } from '../../agent/config.ts';
import { runAgent } from '../../agent/run.ts';
import { createLogger } from '../../lib/log.ts';

const flags = Object.keys(agentFlagDefaults) as AgentFlag[];
const { values } = parseArgs({
  options: Object.fromEntries(flags.map((f) => [f, { type: 'string' as const }])),
});
const given: Partial<Record<AgentFlag, string>> = {};
for (const f of flags) {
  const v = values[f];
  if (typeof v === 'string') given[f] = v;
}
const running = await runAgent({
  config: parseAgentConfig('sidecar', given, process.env),
  logger: createLogger('agent-sidecar'),
  listenHost: '127.0.0.1',
});
running.shutdownSteps.installSignalHandlers();

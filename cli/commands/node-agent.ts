/** `istio-lite node-agent`: certificates for a VM or machine outside Kubernetes (mesh expansion). */
import { NodeAgent } from '../../ca/node-agent/agent.ts';
import { nodeAgentOptions, parseNodeAgentConfig } from '../../ca/node-agent/settings.ts';
import { createLogger } from '../../lib/log.ts';
import { defineCommand } from '../command.ts';
import { untilSignal } from '../serve.ts';

export const nodeAgent = defineCommand({
  name: 'node-agent',
  summary:
    'Get and renew a workload certificate from the CA for a VM (writes cert-chain.pem, key.pem, root-cert.pem).',
  usage:
    'node-agent --ca-address HOST:PORT --root-cert FILE (--identity URI | --namespace NS --service-account SA) [flags]',
  options: nodeAgentOptions,
  async run(values) {
    const config = await parseNodeAgentConfig(values);
    const logger = createLogger('node-agent');
    const agent = new NodeAgent({ ...config, logger });
    const abort = new AbortController();
    if (config.once) {
      await agent.ensure(abort.signal);
      return 0;
    }
    void untilSignal().then((signal) => {
      logger.info({ signal }, 'shutting down');
      abort.abort();
    });
    await agent.run(abort.signal);
    return 0;
  },
});

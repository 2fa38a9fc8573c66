/** `istio-lite pilot`: the xDS server (ADS on 15010, HTTP debug/ready/metrics on 8080). */
import { loadKubeCredentials } from '../../lib/kube/credentials.ts';
import { createLogger } from '../../lib/log.ts';
import { runPilot } from '../../pilot/run.ts';
import { pilotOptions, pilotSettings } from '../../pilot/settings.ts';
import { defineCommand } from '../command.ts';
import { serve } from '../serve.ts';

export const pilot = defineCommand({
  name: 'pilot',
  summary: 'Run Pilot: Envoy (and proxyless gRPC) configuration over xDS v3 ADS.',
  usage:
    'pilot [--port 15010] [--httpPort 8080] [--meshConfig FILE] [--kubeconfig FILE] [--registries Kubernetes,Consul,Eureka]',
  options: pilotOptions,
  async run(values, _pos, io) {
    const settings = await pilotSettings(values, io.cwd);
    const logger = createLogger('pilot');
    // Without @kubernetes/client-node unless the kubeconfig needs it (an exec plugin and the like).
    const kc = await loadKubeCredentials(settings.kubeconfig);
    return serve(logger, () => runPilot({ ...settings, logger, kc }));
  },
});

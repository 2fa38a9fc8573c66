/** `istio-lite pilot`: the xDS server (ADS on 15010, HTTP debug/ready/metrics on 8080). */
import { applyHeapGrowth, releaseUnusedMemory } from '../../lib/heap.ts';
import { loadKubeCredentials } from '../../lib/kube/credentials.ts';
import { createLogger } from '../../lib/log.ts';
import { runPilot } from '../../pilot/run.ts';
import { pilotOptions, pilotSettings } from '../../pilot/settings.ts';
import { defineCommand } from '../command.ts';
import { serve } from '../serve.ts';

/**
 * The old generation grows 1.5x its live size before the next mark-compact. V8's own factor
 * follows how fast the process allocates; once a push is done Pilot allocates slowly, the factor
 * fell to ~1.15, and every later endpoint change ran a full mark-compact of the ~70 MB heap that
 * freed 2 MB (bench/pilot, 1,000 services x 100 proxies: the CPU of 5 changes 0.33-0.40 s, and
 * 0.20-0.26 s with 1.5x). Set after the first build: while the informers sync Pilot allocates
 * fast and V8's own factor keeps the idle heap smaller (idle RSS ~147 MB, ~158 with 1.5x from the
 * start). Set at run time (lib/heap.ts), unless `node --heap-growing-percent=N` already was.
 */
export const pilotHeapGrowthPercent = 50;

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
    const onFirstBuild = () => {
      applyHeapGrowth(pilotHeapGrowthPercent);
      // Once the build that called this has returned, what start-up allocated is garbage.
      setImmediate(releaseUnusedMemory);
    };
    return serve(logger, () => runPilot({ ...settings, logger, kc, onFirstBuild }));
  },
});

/** `istio-lite mixer`: policy checks and telemetry (Mixer v1 and Envoy's ext_authz/ALS/RLS on 9091). */
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { createLogger } from '../../lib/log.ts';
import { runMixer } from '../../mixer/run.ts';
import { mixerOptions, mixerSettings } from '../../mixer/settings.ts';
import { defineCommand } from '../command.ts';
import { serve } from '../serve.ts';

export const mixer = defineCommand({
  name: 'mixer',
  summary: 'Run Mixer (policy checks, quotas and telemetry through adapters).',
  usage:
    'mixer [--port 9091] [--monitoringPort 42422] [--configStoreURL k8s:// | fs://PATH] [--failPolicy closed|open]',
  options: mixerOptions,
  async run(values, _pos, io) {
    const { kube, ...settings } = mixerSettings(values, io);
    const logger = createLogger('mixer');
    return serve(logger, () =>
      runMixer({
        ...settings,
        logger,
        kc: kube === undefined ? undefined : loadKubeConfig(kube.kubeconfig),
      }),
    );
  },
});

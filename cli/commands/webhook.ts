/** `istio-lite webhook`: the sidecar injector (MutatingWebhook on HTTPS 15017). */
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { batchedDestination, createLogger } from '../../lib/log.ts';
import { runWebhook } from '../../webhook/run.ts';
import { webhookOptions, webhookSettings } from '../../webhook/settings.ts';
import { defineCommand } from '../command.ts';
import { serve } from '../serve.ts';

export const webhook = defineCommand({
  name: 'webhook',
  summary: 'Run the sidecar injector (mutating admission webhook).',
  usage:
    'webhook [--port 15017] [--injectConfig FILE] [--meshConfig FILE] [--tlsCertFile F --tlsKeyFile F]',
  options: webhookOptions,
  async run(values) {
    const { kubeconfig, ...settings } = webhookSettings(values);
    // A line per admission: written in batches, not one write each.
    const logger = createLogger('webhook', { destination: batchedDestination() });
    return serve(logger, () => runWebhook({ ...settings, kc: loadKubeConfig(kubeconfig), logger }));
  },
});

/** `istio-lite ca`: the certificate authority (CSR service on 8060, istio.<sa> Secrets). */
import { caOptions, caSettings } from '../../ca/settings.ts';
import { runCa } from '../../ca/run.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { createLogger } from '../../lib/log.ts';
import { defineCommand } from '../command.ts';
import { serve } from '../serve.ts';

export const ca = defineCommand({
  name: 'ca',
  summary: 'Run the certificate authority: CSR gRPC service (8060) and istio.<sa> Secrets.',
  usage: 'ca [--namespace NS] [--grpc-port N] [--signing-cert FILE --signing-key FILE] [flags]',
  options: caOptions,
  async run(values) {
    const config = caSettings(values);
    const logger = createLogger('ca');
    return serve(logger, () => runCa(config, loadKubeConfig(config.kubeconfig), logger));
  },
});

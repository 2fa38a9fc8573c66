/** `istio-lite ca`: the certificate authority (CSR service on 8060, istio.<sa> Secrets). */
import { parseCaConfig, caFlags, caFlagsHelp } from '../../ca/config.ts';
import { runCa } from '../../ca/run.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { createLogger } from '../../lib/log.ts';
import type { Command } from '../command.ts';
import { untilSignal } from '../flags.ts';

export const ca: Command = {
  name: 'ca',
  summary: 'Run the certificate authority: CSR gRPC service (8060) and istio.<sa> Secrets.',
  usage: 'ca [--namespace NS] [--grpc-port N] [--signing-cert FILE --signing-key FILE] [flags]',
  help: caFlagsHelp,
  options: caFlags,
  async run(flags, _pos, io) {
    const config = parseCaConfig(flags, io.env);
    const logger = createLogger('ca');
    const kc = loadKubeConfig(config.kubeconfig);
    const running = await runCa(config, kc, logger);
    const signal = await untilSignal();
    logger.info({ signal }, 'shutting down');
    await running.close();
    return 0;
  },
};

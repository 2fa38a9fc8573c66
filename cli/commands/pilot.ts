/** `istio-lite pilot`: the xDS server (ADS on 15010, HTTP debug/ready/metrics on 8080). */
import { resolve } from 'node:path';
import { readConfigFile } from '../../lib/config-file.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { createLogger } from '../../lib/log.ts';
import { defaultMeshConfig, parseMeshConfig } from '../../lib/mesh-config.ts';
import { Port } from '../../lib/ports.ts';
import { runPilot } from '../../pilot/run.ts';
import type { Command } from '../command.ts';
import { durationFlag, portFlag, stringFlag, untilSignal, usage } from '../flags.ts';

export const pilot: Command = {
  name: 'pilot',
  summary: 'Run Pilot: Envoy (and proxyless gRPC) configuration over xDS v3 ADS.',
  usage: 'pilot [--port 15010] [--httpPort 8080] [--meshConfig FILE] [--kubeconfig FILE]',
  help: [
    '      --port N             ADS gRPC port (default 15010)',
    '      --httpPort N         HTTP port for /ready, /metrics, /debug/* (default 8080)',
    '      --host ADDR          listen address of both ports (default 0.0.0.0)',
    '      --meshConfig FILE    mesh config (the istio ConfigMap, or its mesh key), read at start',
    '      --kubeconfig FILE    kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)',
    '      --domain DOMAIN      cluster DNS domain (default cluster.local)',
    '      --debounce DUR       quiet time before a push (default 100ms)',
    '      --debounceMax DUR    longest a change waits for its push (default 1s)',
  ].join('\n'),
  options: {
    port: { type: 'string' },
    httpPort: { type: 'string' },
    host: { type: 'string' },
    meshConfig: { type: 'string' },
    kubeconfig: { type: 'string' },
    domain: { type: 'string' },
    debounce: { type: 'string' },
    debounceMax: { type: 'string' },
  },
  async run(flags, _pos, io) {
    const debounceMs = durationFlag(flags, 'debounce', '100ms');
    const debounceMaxMs = durationFlag(flags, 'debounceMax', '1s');
    if (debounceMaxMs < debounceMs)
      throw usage('--debounceMax must not be shorter than --debounce');
    const domain = stringFlag(flags, 'domain') ?? 'cluster.local';
    if (!/^[a-z0-9.-]+$/.test(domain)) throw usage(`--domain: "${domain}" is not a DNS domain`);
    const meshFile = stringFlag(flags, 'meshConfig');
    const mesh = meshFile
      ? parseMeshConfig(await readConfigFile(resolve(io.cwd, meshFile), 'mesh'))
      : defaultMeshConfig;
    const host = stringFlag(flags, 'host') ?? '0.0.0.0';
    const logger = createLogger('pilot');
    const running = await runPilot({
      logger,
      mesh,
      kc: loadKubeConfig(stringFlag(flags, 'kubeconfig')),
      xdsHost: host,
      xdsPort: portFlag(flags, 'port', Port.PilotXds),
      httpHost: host,
      httpPort: portFlag(flags, 'httpPort', Port.PilotHttp),
      debounceMs,
      debounceMaxMs,
      domain,
    });
    const signal = await untilSignal();
    logger.info({ signal }, 'shutting down');
    await running.close();
    return 0;
  },
};

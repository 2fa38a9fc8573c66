/**
 * A sidecar agent in this process for tests of its Mixer path: no Envoy, no Pilot (the discovery
 * address points nowhere), a workload certificate written into `<dir>/certs` and read from there,
 * status and readiness on free ports. Envoy's side talks to `socket` (the agent's MIXER socket).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.ts';
import { FileCertificateSource } from '../certs/file-source.ts';
import { runAgent, type RunningAgent } from '../run.ts';
import { parseAgentConfig, type AgentConfig, type AgentFlag } from '../settings.ts';
import { testLeaf, testRoot, writeCertFiles } from './workload-certs.ts';

export interface MixerAgentOptions {
  /** The agent's folder (config and certificates). */
  readonly dir: string;
  readonly logger: Logger;
  /** Agent flags beside the fixed ones, e.g. mixerAddress, zipkinAddress. */
  readonly flags: Readonly<Partial<Record<AgentFlag, string>>>;
  /** The pod's identity as the injector gives it; productpage-1 in default on 127.0.0.1 unless set. */
  readonly env?: Readonly<Record<string, string>>;
  /** The certificate's identity: namespace and service account (default, productpage). */
  readonly identity?: readonly [namespace: string, serviceAccount: string];
  readonly quotas?: ReadonlyMap<string, number>;
  readonly reportDelayMs?: number;
}

export interface MixerAgent {
  readonly agent: RunningAgent;
  readonly config: AgentConfig;
  /** The MIXER socket as a gRPC target (`unix:…`). */
  readonly socket: string;
}

export const productpageEnv = {
  POD_NAME: 'productpage-1',
  POD_NAMESPACE: 'default',
  INSTANCE_IP: '127.0.0.1',
} as const;

export async function startMixerAgent(o: MixerAgentOptions): Promise<MixerAgent> {
  const certs = join(o.dir, 'certs');
  mkdirSync(certs, { recursive: true });
  const [namespace, account] = o.identity ?? ['default', 'productpage'];
  writeCertFiles(certs, testLeaf(testRoot(), namespace, account));
  const config = parseAgentConfig(
    'sidecar',
    {
      configPath: o.dir,
      certsDir: certs,
      startEnvoy: 'false',
      statusPort: '0',
      readinessPort: '0',
      discoveryAddress: '127.0.0.1:1',
      ...o.flags,
    },
    { ...(o.env ?? productpageEnv) },
  );
  const agent = await runAgent({
    config,
    logger: o.logger,
    listenHost: '127.0.0.1',
    certificateSource: new FileCertificateSource({ dir: certs, logger: o.logger, intervalMs: 100 }),
    ...(o.quotas === undefined ? {} : { quotas: o.quotas }),
    ...(o.reportDelayMs === undefined ? {} : { reportDelayMs: o.reportDelayMs }),
  });
  return { agent, config, socket: `unix:${config.sockets.mixer}` };
}

/**
 * `istio-lite pilot`'s settings: the options (flags, with defaults and checks) and the mesh config
 * file they name, parsed once into a readonly object. A bad value is an error naming the flag.
 */
import { resolve } from 'node:path';
import { dnsName } from '../lib/config/checks.ts';
import { option, usageError, type OptionValues } from '../lib/config/options.ts';
import { readConfigFile } from '../lib/config-file.ts';
import { defaultMeshConfig, parseMeshConfig, type MeshConfig } from '../lib/mesh-config.ts';
import { Port } from '../lib/ports.ts';

export const pilotOptions = {
  port: option.port(Port.PilotXds, 'ADS gRPC port'),
  httpPort: option.port(Port.PilotHttp, 'HTTP port for /ready, /metrics, /debug/*'),
  host: option.text('0.0.0.0', 'listen address of both ports', { placeholder: 'ADDR' }),
  meshConfig: option.string('mesh config (the istio ConfigMap, or its mesh key), read at start', {
    placeholder: 'FILE',
  }),
  kubeconfig: option.string('kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)', {
    placeholder: 'FILE',
  }),
  domain: option.text('cluster.local', 'cluster DNS domain', {
    placeholder: 'DOMAIN',
    check: dnsName,
  }),
  debounce: option.duration('100ms', 'quiet time before a push'),
  debounceMax: option.duration('1s', 'longest a change waits for its push'),
};

export interface PilotSettings {
  readonly mesh: MeshConfig;
  /** undefined: KUBECONFIG, in-cluster, ~/.kube/config. */
  readonly kubeconfig: string | undefined;
  readonly xdsHost: string;
  /** ADS port (15010; 0 picks one). */
  readonly xdsPort: number;
  readonly httpHost: string;
  /** Debug, readiness and metrics port (8080; 0 picks one). */
  readonly httpPort: number;
  readonly debounceMs: number;
  readonly debounceMaxMs: number;
  readonly domain: string;
}

export async function pilotSettings(
  v: OptionValues<typeof pilotOptions>,
  cwd: string,
): Promise<PilotSettings> {
  if (v.debounceMax < v.debounce) {
    throw usageError('--debounceMax must not be shorter than --debounce');
  }
  const mesh =
    v.meshConfig === undefined
      ? defaultMeshConfig
      : parseMeshConfig(await readConfigFile(resolve(cwd, v.meshConfig), 'mesh'));
  return {
    mesh,
    kubeconfig: v.kubeconfig,
    xdsHost: v.host,
    xdsPort: v.port,
    httpHost: v.host,
    httpPort: v.httpPort,
    debounceMs: v.debounce,
    debounceMaxMs: v.debounceMax,
    domain: v.domain,
  };
}

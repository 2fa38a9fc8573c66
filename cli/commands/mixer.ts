/** `istio-lite mixer`: policy checks and telemetry (Mixer v1 and Envoy's ext_authz/ALS/RLS on 9091). */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { createLogger } from '../../lib/log.ts';
import { Port } from '../../lib/ports.ts';
import { FailPolicy } from '../../mixer/dispatch/check.ts';
import { runMixer } from '../../mixer/run.ts';
import type { Command } from '../command.ts';
import { listFlag, oneOfFlag, portFlag, stringFlag, untilSignal, usage } from '../flags.ts';

function yamlFiles(path: string): string[] {
  if (!statSync(path, { throwIfNoEntry: false }))
    throw usage(`--configStoreURL: ${path} does not exist`);
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

export const mixer: Command = {
  name: 'mixer',
  summary: 'Run Mixer (policy checks, quotas and telemetry through adapters).',
  usage:
    'mixer [--port 9091] [--monitoringPort 42422] [--configStoreURL k8s:// | fs://PATH] [--failPolicy closed|open]',
  help: [
    '      --port N                    gRPC port: Mixer v1, ext_authz, ALS, RLS (default 9091)',
    '      --host ADDR                 listen address (default 0.0.0.0)',
    '      --monitoringPort N          /metrics (Mixer and the prometheus adapter), /healthz, /ready (default 42422)',
    '      --configStoreURL URL        k8s:// (config CRDs, default) or fs://PATH (a YAML file or folder)',
    '      --configDefaultNamespace NS rules there apply to every request (default istio-system)',
    '      --kubeconfig FILE           kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)',
    '      --failPolicy POLICY         when an adapter fails: closed (deny, default) or open (allow)',
    '      --adapterModules LIST       your own adapter modules to load (comma-separated paths or packages)',
    '      --zipkinURL URL             send spans of Mixer calls here (http://zipkin:9411/api/v2/spans)',
    '      --workloadAttributes BOOL   with k8s://, fill source/destination labels, name, namespace, uid and',
    '                                  serviceAccount from the pod at their IP (default true)',
  ].join('\n'),
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    monitoringPort: { type: 'string' },
    configStoreURL: { type: 'string' },
    configDefaultNamespace: { type: 'string' },
    kubeconfig: { type: 'string' },
    failPolicy: { type: 'string' },
    adapterModules: { type: 'string' },
    zipkinURL: { type: 'string' },
    workloadAttributes: { type: 'string' },
  },
  async run(flags, _pos, io) {
    const store = stringFlag(flags, 'configStoreURL') ?? 'k8s://';
    const isKube = store === 'k8s://' || store.startsWith('k8s://');
    if (!isKube && !store.startsWith('fs://'))
      throw usage(`--configStoreURL: "${store}" must be k8s:// or fs://PATH`);
    const configFiles = isKube ? [] : yamlFiles(store.slice('fs://'.length));
    const zipkin = stringFlag(flags, 'zipkinURL');
    if (zipkin !== undefined && !/^https?:\/\//.test(zipkin))
      throw usage(`--zipkinURL: "${zipkin}" is not an http(s) URL`);
    const logger = createLogger('mixer');
    const running = await runMixer({
      logger,
      port: portFlag(flags, 'port', Port.MixerGrpc),
      host: stringFlag(flags, 'host') ?? '0.0.0.0',
      monitoringPort: portFlag(flags, 'monitoringPort', Port.MixerPrometheus),
      configDefaultNamespace: stringFlag(flags, 'configDefaultNamespace') ?? 'istio-system',
      kc: isKube ? loadKubeConfig(stringFlag(flags, 'kubeconfig')) : undefined,
      configFiles,
      failPolicy: oneOfFlag(flags, 'failPolicy', FailPolicy, 'closed'),
      adapterModules: listFlag(flags, 'adapterModules'),
      zipkinUrl: zipkin,
      instance: io.env['POD_NAME'] ?? hostname(),
      workloadAttributes:
        oneOfFlag(flags, 'workloadAttributes', ['true', 'false'], 'true') === 'true',
    });
    const signal = await untilSignal();
    logger.info({ signal }, 'shutting down');
    await running.close();
    return 0;
  },
};

/**
 * `istio-lite mixer`'s settings: the options (flags, with defaults and checks) and the config
 * files they name, parsed once into a readonly object. A bad value is an error naming the flag.
 */
import { readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { httpUrl } from '../lib/config/checks.ts';
import { option, usageError, type OptionValues } from '../lib/config/options.ts';
import { Port } from '../lib/ports.ts';
import { FailPolicy } from './dispatch/check.ts';

export const mixerOptions = {
  port: option.port(Port.MixerGrpc, 'gRPC port: Mixer v1, ext_authz, ALS, RLS'),
  host: option.text('0.0.0.0', 'listen address', { placeholder: 'ADDR' }),
  monitoringPort: option.port(
    Port.MixerPrometheus,
    '/metrics (Mixer and the prometheus adapter), /healthz, /ready',
  ),
  configStoreURL: option.text(
    'k8s://',
    'k8s:// (config CRDs) or fs://PATH (a YAML file or folder)',
    {
      placeholder: 'URL',
      check: (v) =>
        v.startsWith('k8s://') || v.startsWith('fs://') ? undefined : 'must be k8s:// or fs://PATH',
    },
  ),
  configDefaultNamespace: option.text('istio-system', 'rules there apply to every request', {
    placeholder: 'NS',
  }),
  kubeconfig: option.string('kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)', {
    placeholder: 'FILE',
  }),
  failPolicy: option.oneOf(
    FailPolicy,
    'closed',
    'when an adapter fails: deny (closed) or allow (open)',
  ),
  adapterModules: option.list(
    [],
    'your own adapter and template modules to load (paths or npm packages, comma-separated)',
  ),
  zipkinURL: option.string('send spans of Mixer calls here (http://zipkin:9411/api/v2/spans)', {
    placeholder: 'URL',
    check: httpUrl,
  }),
  traceSampling: option.number(1, 'percent of calls without a trace context that start a trace', {
    min: 0,
    max: 100,
  }),
  workloadAttributes: option.bool(
    true,
    'with k8s://, fill source/destination labels, name, namespace, uid and serviceAccount from the pod at their IP',
  ),
};

export interface MixerSettings {
  readonly port: number;
  readonly host: string;
  readonly monitoringPort: number;
  readonly configDefaultNamespace: string;
  /** Watch the config CRDs (k8s://) through this kubeconfig (undefined: the default one). */
  readonly kube: { readonly kubeconfig: string | undefined } | undefined;
  readonly configFiles: readonly string[];
  readonly failPolicy: FailPolicy;
  readonly adapterModules: readonly string[];
  readonly zipkinUrl: string | undefined;
  /** Percent (0–100) of calls without a trace context that start a trace. */
  readonly traceSampling: number;
  readonly instance: string;
  readonly workloadAttributes: boolean;
}

function yamlFiles(path: string): string[] {
  if (!statSync(path, { throwIfNoEntry: false })) {
    throw usageError(`--configStoreURL: ${path} does not exist`);
  }
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

export function mixerSettings(
  v: OptionValues<typeof mixerOptions>,
  io: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
): MixerSettings {
  const isKube = v.configStoreURL.startsWith('k8s://');
  return {
    port: v.port,
    host: v.host,
    monitoringPort: v.monitoringPort,
    configDefaultNamespace: v.configDefaultNamespace,
    kube: isKube ? { kubeconfig: v.kubeconfig } : undefined,
    configFiles: isKube ? [] : yamlFiles(resolve(io.cwd, v.configStoreURL.slice('fs://'.length))),
    failPolicy: v.failPolicy,
    adapterModules: v.adapterModules,
    zipkinUrl: v.zipkinURL,
    traceSampling: v.traceSampling,
    instance: io.env['POD_NAME'] ?? hostname(),
    workloadAttributes: v.workloadAttributes,
  };
}

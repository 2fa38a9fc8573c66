/**
 * The golden injection cases under testdata/inject/: the input `<name>.yaml`, its injected output
 * `<name>.yaml.injected`, and how each is injected. Shared by the kube-inject golden test and the
 * webhook's cluster tests (one engine, two doors).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultMeshConfig, parseMeshConfig } from '../lib/mesh-config.ts';
import { parseConfigText } from '../lib/config-file.ts';
import { parseKubeVersion } from '../lib/kube-version.ts';
import { defaultInjectorConfig, parseInjectorConfig } from './config.ts';
import type { InjectContext } from './inject.ts';

export const goldenDir = fileURLToPath(new URL('../testdata/inject/', import.meta.url));

interface CaseOptions {
  readonly kubernetesVersion?: string;
  readonly configFile?: string;
  readonly meshFile?: string;
  readonly namespaceLabels?: Readonly<Record<string, string>>;
}

export const goldenCases: readonly { readonly name: string; readonly options: CaseOptions }[] = [
  { name: 'deployment', options: {} },
  { name: 'pod', options: {} },
  { name: 'list', options: {} },
  { name: 'all-kinds', options: {} },
  { name: 'native-sidecar', options: { kubernetesVersion: '1.30' } },
  { name: 'hold-application', options: {} },
  { name: 'traffic-annotations', options: {} },
  { name: 'resource-annotations', options: {} },
  { name: 'user-proxy-override', options: {} },
  { name: 'user-init-containers', options: {} },
  { name: 'reinvocation', options: {} },
  { name: 'csr-certificates', options: { meshFile: 'mesh-csr.yaml' } },
  {
    name: 'custom-config',
    options: { configFile: 'config-custom.yaml', meshFile: 'mesh-custom.yaml' },
  },
];

export function goldenContext(options: CaseOptions, namespace = 'default'): InjectContext {
  const read = (f: string) => readFileSync(goldenDir + f, 'utf8');
  return {
    config: options.configFile
      ? parseInjectorConfig(parseConfigText(read(options.configFile), options.configFile, 'config'))
      : defaultInjectorConfig,
    mesh: options.meshFile
      ? parseMeshConfig(parseConfigText(read(options.meshFile), options.meshFile, 'mesh'))
      : defaultMeshConfig,
    namespaceLabels: options.namespaceLabels ?? { 'istio-injection': 'enabled' },
    namespace,
    kubernetesVersion:
      options.kubernetesVersion === undefined
        ? undefined
        : parseKubeVersion(options.kubernetesVersion),
  };
}

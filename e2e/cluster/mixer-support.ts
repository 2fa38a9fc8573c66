/**
 * Mixer on a test cluster: its CRDs from the chart (applied, then waited on until Established),
 * and `runMixer` watching that cluster, on loopback with free ports, once it is ready.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ApiextensionsV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { JsonObject } from '../../lib/json.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import type { Logger } from '../../lib/log.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';
import { runMixer, type RunningMixer } from '../../mixer/run.ts';
import { eventually } from './eventually.ts';

export function yamlObjects(url: URL): JsonObject[] {
  return parseYamlDocuments(readFileSync(url, 'utf8')).map((d) => d.value as JsonObject);
}

export async function installMixerCrds(kc: KubeConfig, manager: string): Promise<void> {
  const crds = yamlObjects(new URL('../../charts/istio-lite/crds/mixer.yaml', import.meta.url));
  await applyObjects(kc, crds, manager);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  await eventually(
    async () => {
      for (const c of crds) {
        const name = (c['metadata'] as { name: string }).name;
        const crd = await ext.readCustomResourceDefinition({ name });
        assert.ok(
          crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'),
          `${name} established`,
        );
      }
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

export async function startKubeMixer(o: {
  readonly kc: KubeConfig;
  readonly logger: Logger;
  readonly instance: string;
  readonly configDefaultNamespace?: string;
}): Promise<RunningMixer> {
  const mixer = await runMixer({
    logger: o.logger,
    port: 0,
    host: '127.0.0.1',
    monitoringPort: 0,
    configDefaultNamespace: o.configDefaultNamespace ?? 'istio-system',
    kc: o.kc,
    configFiles: [],
    failPolicy: 'closed',
    adapterModules: [],
    instance: o.instance,
  });
  await mixer.ready();
  return mixer;
}

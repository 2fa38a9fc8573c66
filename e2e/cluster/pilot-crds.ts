/**
 * Pilot's CRDs (RouteRule, DestinationPolicy, EgressRule) from the chart, installed once per
 * process with server-side apply (idempotent, so suites sharing a cluster may all ask) and
 * waited on until the API server serves them.
 *
 * lib/kube/apply.ts sends the chart file's JSON as it is, so the CRDs keep their `enum` and
 * `x-kubernetes-validations` (client-node's models would drop them).
 */
import { readFileSync } from 'node:fs';
import { ApiextensionsV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { chartDir } from '../../lib/chart.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import type { JsonObject } from '../../lib/json.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';
import { eventually } from './eventually.ts';

export const pilotCrdFiles = ['routerules', 'destinationpolicies', 'egressrules'] as const;

export function pilotCrds(): JsonObject[] {
  return pilotCrdFiles.flatMap((f) =>
    parseYamlDocuments(readFileSync(`${chartDir}/crds/${f}.yaml`, 'utf8')).map(
      (d) => d.value as JsonObject,
    ),
  );
}

const installed = new WeakMap<KubeConfig, Promise<void>>();

export function ensurePilotCrds(kc: KubeConfig): Promise<void> {
  let p = installed.get(kc);
  if (!p) {
    p = install(kc);
    installed.set(kc, p);
  }
  return p;
}

async function install(kc: KubeConfig): Promise<void> {
  await applyObjects(kc, pilotCrds(), 'pilot-e2e');
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await eventually(
    async () => {
      for (const plural of pilotCrdFiles) {
        const crd = await ext.readCustomResourceDefinition({ name: `${plural}.config.istio.io` });
        const established = crd.status?.conditions?.find((c) => c.type === 'Established');
        if (established?.status !== 'True') throw new Error(`${plural} not established`);
        await custom.listClusterCustomObject({
          group: 'config.istio.io',
          version: 'v1alpha2',
          plural,
        });
      }
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

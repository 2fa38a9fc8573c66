/**
 * Pilot's CRDs from the chart (RouteRule, DestinationPolicy, EgressRule; WorkloadEntry and
 * WorkloadGroup), installed once per process with server-side apply (idempotent, so suites
 * sharing a cluster may all ask) and waited on until the API server serves them.
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

export interface PilotCrd {
  /** The chart's `crds/<file>.yaml`. */
  readonly file: string;
  readonly plural: string;
  readonly group: string;
  /** A version the API server must serve before the CRD counts as installed (the stored one). */
  readonly version: string;
}

export const pilotCrdList: readonly PilotCrd[] = [
  { file: 'routerules', plural: 'routerules', group: 'config.istio.io', version: 'v1alpha2' },
  {
    file: 'destinationpolicies',
    plural: 'destinationpolicies',
    group: 'config.istio.io',
    version: 'v1alpha2',
  },
  { file: 'egressrules', plural: 'egressrules', group: 'config.istio.io', version: 'v1alpha2' },
  {
    file: 'workloadentries',
    plural: 'workloadentries',
    group: 'networking.istio.io',
    version: 'v1',
  },
  { file: 'workloadgroups', plural: 'workloadgroups', group: 'networking.istio.io', version: 'v1' },
];

export function pilotCrds(): JsonObject[] {
  return pilotCrdList.flatMap(({ file }) =>
    parseYamlDocuments(readFileSync(`${chartDir}/crds/${file}.yaml`, 'utf8')).map(
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
      for (const { plural, group, version } of pilotCrdList) {
        const crd = await ext.readCustomResourceDefinition({ name: `${plural}.${group}` });
        const established = crd.status?.conditions?.find((c) => c.type === 'Established');
        if (established?.status !== 'True') throw new Error(`${plural}.${group} not established`);
        await custom.listClusterCustomObject({ group, version, plural });
      }
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

/**
 * Pilot's CRDs (RouteRule, DestinationPolicy, EgressRule) from the chart, installed once per
 * process with server-side apply (idempotent, so suites sharing a cluster may all ask) and
 * waited on until the API server serves them.
 *
 * Not through lib/kube/apply.ts or the typed API: client-node serializes a raw object of a kind
 * it has a model for through that model, which drops the JSON `enum` and
 * `x-kubernetes-validations` of a raw CRD (and its typed CRD model sends the latter as
 * `x_kubernetes_validations`, which the API server refuses). The chart file's JSON goes as it
 * is, over the kubeconfig's own TLS settings.
 */
import { readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { ApiextensionsV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { chartDir } from '../../lib/chart.ts';
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

/** Server-side apply of one raw object at `path`, its JSON sent unchanged. */
async function applyRaw(kc: KubeConfig, path: string, body: JsonObject): Promise<void> {
  const server = kc.getCurrentCluster()?.server ?? '';
  const url = new URL(`${path}?fieldManager=pilot-e2e&force=true`, server);
  const opts: RequestOptions = {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/apply-patch+yaml', Accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(opts);
  await new Promise<void>((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString('utf8');
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) resolve();
        else reject(new Error(`apply ${path}: HTTP ${code}: ${text}`));
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function install(kc: KubeConfig): Promise<void> {
  for (const crd of pilotCrds()) {
    const name = (crd['metadata'] as { name: string }).name;
    await applyRaw(kc, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, crd);
  }
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

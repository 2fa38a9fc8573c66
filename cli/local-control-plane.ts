/**
 * `npm start`: the control plane on the embedded local cluster (API server, controller manager,
 * scheduler and 3 simulated nodes). Brings the cluster up, runs the webhook on loopback and
 * registers it (the chart's MutatingWebhookConfiguration with a loopback url), starts the CA, Pilot
 * and Mixer, applies `examples/` (namespace `demo` labelled for injection, Deployments, a
 * StatefulSet, a Job), and waits until the controllers have made their pods, each injected by the
 * webhook on its way in, and the nodes run them. Writes `.local/endpoints.json`.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { waitForExamples } from './local-workloads.ts';
import { chartDir, helmTemplate } from '../lib/chart.ts';
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { isObject, type JsonObject } from '../lib/json.ts';
import { applyObjects } from '../lib/kube/apply.ts';
import { isAlreadyExists, loadKubeConfig } from '../lib/kube/client.ts';
import { down, helmPath, up } from '../lib/local-cluster/cluster.ts';
import { isAlive } from '../lib/local-cluster/processes.ts';
import { Lifecycle } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/log.ts';
import { parseYamlDocuments } from '../lib/yaml.ts';
import { parseCaConfig } from '../ca/settings.ts';
import { runCa } from '../ca/run.ts';
import { defaultMeshConfig } from '../lib/mesh-config.ts';
import { runMixer } from '../mixer/run.ts';
import { runPilot } from '../pilot/run.ts';
import type { RegistrySpec } from '../pilot/settings.ts';
import { runWebhook, type RunningWebhook } from '../webhook/run.ts';

export interface Endpoints {
  readonly kubeconfig: string;
  readonly webhook: string;
  readonly pilotXds: string;
  readonly pilotHttp: string;
  /** Pilot's service registries, in order. */
  readonly registries: readonly string[];
  readonly caGrpc: string;
  readonly mixerGrpc: string;
  readonly mixerMetrics: string;
}

export interface LocalControlPlane {
  readonly endpoints: Endpoints;
  readonly pods: readonly V1Pod[];
  close(): Promise<void>;
}

export interface StartOptions {
  readonly stateDir: string;
  readonly examplesDir: string;
  /** Pilot's service registries (default: Kubernetes alone). */
  readonly registries?: readonly RegistrySpec[];
  readonly logger: Logger;
  readonly progress: (line: string) => void;
}

function claimPidFile(path: string): void {
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new IstioLiteError(
        ErrorCode.External,
        `istio-lite start is already running (pid ${pid}); stop it with Ctrl-C or: kill ${pid}`,
      );
    }
  }
  writeFileSync(path, `${process.pid}\n`);
}

export async function registerWebhook(
  kc: KubeConfig,
  url: string,
  values: Readonly<Record<string, string>> = {},
): Promise<void> {
  const objects = await helmTemplate({
    helm: await helmPath(),
    set: { 'webhook.url': url, ...values },
    showOnly: ['templates/mutatingwebhook.yaml'],
  });
  await applyObjects(kc, objects);
}

function readExamples(dir: string): JsonObject[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  return files.flatMap((f) =>
    parseYamlDocuments(readFileSync(join(dir, f), 'utf8'), f)
      .map((d) => d.value)
      .filter(isObject),
  );
}

export async function startLocalControlPlane(o: StartOptions): Promise<LocalControlPlane> {
  const pidFile = join(o.stateDir, 'start.pid');
  const endpointsFile = join(o.stateDir, 'endpoints.json');
  mkdirSync(o.stateDir, { recursive: true });
  claimPidFile(pidFile);
  // Every piece is stopped in reverse order on close(), or as soon as a later piece fails to start.
  return Lifecycle.start(o.logger, async (life) => {
    life.onStop('pid and endpoints files', () => {
      rmSync(pidFile, { force: true });
      rmSync(endpointsFile, { force: true });
    });
    o.progress(
      'starting the local cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok: 3 simulated nodes, on loopback)…',
    );
    const cluster = await up(o.stateDir, { log: o.progress, progress: o.progress });
    life.onStop('local cluster', () => down(o.stateDir));
    const kc = loadKubeConfig(cluster.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    try {
      await core.createNamespace({ body: { metadata: { name: 'istio-system' } } });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }

    o.progress('starting the webhook…');
    const webhook: RunningWebhook = await runWebhook({
      kc,
      logger: o.logger,
      port: 0,
      host: '127.0.0.1',
      namespace: 'istio-system',
      secretName: 'istio-sidecar-injector-certs',
      webhookConfigName: 'istio-sidecar-injector',
      webhookConfigLabel: 'app=istio-sidecar-injector',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      caLifetimeMs: 10 * 365 * 86_400_000,
      certLifetimeMs: 365 * 86_400_000,
      failureMode: 'deny',
      bodyLimitBytes: 6 * 1024 * 1024,
    });
    life.add('webhook', webhook, (w) => w.close());
    await registerWebhook(kc, `https://127.0.0.1:${webhook.port}/inject`);

    // The CRDs (config.istio.io) Pilot and Mixer watch, from the chart.
    await applyObjects(kc, readExamples(join(chartDir, 'crds')));

    o.progress('starting the CA, Pilot and Mixer…');
    const ca = await runCa(
      parseCaConfig(
        {
          namespace: 'istio-system',
          'grpc-host': '127.0.0.1',
          'grpc-port': '0',
          'grpc-hostname': 'localhost',
          'monitoring-host': '127.0.0.1',
          'monitoring-port': '0',
        },
        {},
      ),
      kc,
      o.logger,
    );
    life.add('ca', ca, (c) => c.close());
    const pilot = await runPilot({
      logger: o.logger,
      mesh: defaultMeshConfig,
      kc,
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      httpHost: '127.0.0.1',
      httpPort: 0,
      debounceMs: 100,
      debounceMaxMs: 1000,
      domain: 'cluster.local',
      ...(o.registries ? { registries: o.registries } : {}),
    });
    life.add('pilot', pilot, (p) => p.close());
    const mixer = await runMixer({
      logger: o.logger,
      port: 0,
      host: '127.0.0.1',
      monitoringPort: 0,
      configDefaultNamespace: 'istio-system',
      kc,
      configFiles: [],
      failPolicy: 'closed',
      adapterModules: [],
      instance: 'local',
    });
    life.add('mixer', mixer, (m) => m.close());

    o.progress('applying examples/ and waiting for their pods…');
    const objects = readExamples(o.examplesDir);
    await applyObjects(kc, objects);
    const pods: V1Pod[] = await waitForExamples(kc, objects, 120_000);
    const endpoints: Endpoints = {
      kubeconfig: cluster.kubeconfig,
      webhook: `127.0.0.1:${webhook.port}`,
      pilotXds: `127.0.0.1:${pilot.xdsPort}`,
      pilotHttp: `127.0.0.1:${pilot.httpPort}`,
      registries: (o.registries ?? [{ kind: 'Kubernetes' }]).map((r) =>
        r.kind === 'Kubernetes' ? r.kind : `${r.kind} ${r.url}`,
      ),
      caGrpc: `127.0.0.1:${ca.grpcPort}`,
      mixerGrpc: `127.0.0.1:${mixer.grpcPort}`,
      mixerMetrics: `127.0.0.1:${mixer.monitoringPort}`,
    };
    writeFileSync(endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
    return { endpoints, pods };
  });
}

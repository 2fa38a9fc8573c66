/**
 * `istio-lite mixer`: wires Mixer together. Config comes from the API server (CRD informers) or,
 * without a cluster, from YAML files; the gRPC server (9091) serves Mixer v1 and Envoy's APIs; the
 * monitoring port (42422) serves `/metrics` (Mixer's own and the prometheus adapter's),
 * `/healthz` and `/ready` (ready once config is loaded). `close` drains calls, flushes what
 * adapters buffer, and stops watches.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { listenOn } from '../lib/listen.ts';
import type { Logger } from '../lib/log.ts';
import { createRegistry } from '../lib/metrics.ts';
import { globalDictionaryVersion, globalWordCount } from '../lib/mixer/global-dictionary.ts';
import { opsApp } from '../lib/ops-server.ts';
import type { Adapter } from './adapter.ts';
import { AdapterRegistry, loadAdapterModule } from './adapter-registry.ts';
import { builtinAdapters } from './adapters/index.ts';
import { ConfigController } from './config/controller.ts';
import { configObjectsFromYaml } from './config/yaml-objects.ts';
import { MixerCore } from './core.ts';
import { defaultCheckPolicy, type FailPolicy } from './dispatch/check.ts';
import { startMixerGrpcServer, type MixerGrpcServer } from './grpc-server.ts';
import { watchConfig, type KubeConfigSource } from './kube/config-source.ts';
import { mixerKinds } from './kube/crds.ts';
import { watchPodWorkloads, type PodWorkloads } from './kube/pod-workloads.ts';
import { kubeProblemSink } from './kube/problem-events.ts';
import { createMixerMetrics } from './metrics.ts';
import { createTracer, type Tracer } from './tracing.ts';

export interface MixerOptions {
  readonly logger: Logger;
  readonly port: number;
  readonly host: string;
  readonly monitoringPort: number;
  /** Rules here apply to every request (Istio's config default namespace). */
  readonly configDefaultNamespace: string;
  /** Watch config CRDs through this cluster; without it, only `configFiles`. */
  readonly kc?: KubeConfig | undefined;
  readonly configFiles: readonly string[];
  readonly failPolicy: FailPolicy;
  readonly adapterModules: readonly string[];
  readonly zipkinUrl?: string | undefined;
  /** This replica's name (Events' reportingInstance). */
  readonly instance: string;
  readonly extraAdapters?: readonly Adapter[];
  /**
   * Fill source/destination name, namespace, labels, uid and serviceAccount from the pod at their
   * IP when a request lacks them (needs `kc`; default true).
   */
  readonly workloadAttributes?: boolean;
}

export interface RunningMixer {
  readonly grpcPort: number;
  readonly monitoringPort: number;
  readonly core: MixerCore;
  ready(): Promise<void>;
  close(): Promise<void>;
}

export async function runMixer(opts: MixerOptions): Promise<RunningMixer> {
  const { logger } = opts;
  const user: Adapter[] = [...(opts.extraAdapters ?? [])];
  for (const m of opts.adapterModules) user.push(...(await loadAdapterModule(m)));
  const registry = new AdapterRegistry([...builtinAdapters, ...user]);
  if (user.length > 0) logger.info({ adapters: user.map((a) => a.name) }, 'user adapters loaded');

  const metrics = createRegistry('mixer');
  const mixerMetrics = createMixerMetrics(metrics);
  const controller = new ConfigController({
    registry,
    logger,
    defaultNamespace: opts.configDefaultNamespace,
    envFor: (name) => ({
      name,
      logger,
      metrics,
      now: Date.now,
      stdout: process.stdout,
      stderr: process.stderr,
    }),
    ...(opts.kc ? { sink: kubeProblemSink(opts.kc, logger, opts.instance) } : {}),
  });
  controller.onSnapshot((s) => {
    mixerMetrics.configProblems.set(s.problems.length);
    mixerMetrics.configSnapshot.set(s.id);
  });

  let isReady = false;
  let source: KubeConfigSource | undefined;
  const fileObjects = opts.configFiles.flatMap((f) =>
    configObjectsFromYaml(readFileSync(f, 'utf8'), f, opts.configDefaultNamespace),
  );
  for (const o of fileObjects) controller.upsert(o);
  if (opts.kc) {
    const extraKinds = registry
      .kinds()
      .filter((k) => !(mixerKinds as readonly string[]).includes(k));
    source = watchConfig({
      kc: opts.kc,
      kinds: [...mixerKinds, ...extraKinds],
      controller,
      logger,
    });
  }
  const workloads: PodWorkloads | undefined =
    opts.kc && opts.workloadAttributes !== false
      ? watchPodWorkloads({ kc: opts.kc, logger })
      : undefined;
  workloads?.start();
  const readyPromise = (async () => {
    await source?.synced();
    await workloads?.synced();
    await controller.rebuild();
    isReady = true;
    logger.info(
      { snapshot: controller.snapshot().id, podIps: workloads?.size() },
      'Mixer config loaded; ready',
    );
  })();
  readyPromise.catch(() => undefined);

  const tracer: Tracer = createTracer({
    zipkinUrl: opts.zipkinUrl,
    serviceName: 'istio-mixer',
    logger,
  });
  const core = new MixerCore({
    controller,
    policy: { ...defaultCheckPolicy, failPolicy: opts.failPolicy },
    metrics: mixerMetrics,
    logger,
    workloads,
  });
  const grpc: MixerGrpcServer = await startMixerGrpcServer({
    core,
    logger,
    port: opts.port,
    host: opts.host,
    tracer: tracer.traceCall,
  });
  const ops: HttpServer = createServer(
    opsApp(metrics, () => (isReady ? undefined : 'config not loaded yet')),
  );
  const monitoringPort = await listenOn(ops, opts.monitoringPort, opts.host);
  logger.info(
    {
      grpcPort: grpc.port,
      monitoringPort,
      dictionary: globalDictionaryVersion,
      words: globalWordCount,
      failPolicy: opts.failPolicy,
    },
    'Mixer started',
  );

  return {
    grpcPort: grpc.port,
    monitoringPort,
    core,
    ready: () => readyPromise,
    async close() {
      await grpc.close();
      await source?.stop();
      await workloads?.stop();
      await controller.flush();
      await controller.close();
      await tracer.close();
      await new Promise<void>((resolve) => {
        ops.close(() => {
          resolve();
        });
        ops.closeAllConnections();
      });
      logger.info('Mixer stopped; buffers flushed');
    },
  };
}

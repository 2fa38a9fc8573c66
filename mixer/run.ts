/**
 * `istio-lite mixer`: wires Mixer together. Config comes from the API server (CRD informers) or,
 * without a cluster, from YAML files; the gRPC server (9091) serves Mixer v1 and Envoy's APIs; the
 * monitoring port (42422) serves `/metrics` (Mixer's own and the prometheus adapter's),
 * `/healthz` and `/ready` (ready once config is loaded). Started with lib/lifecycle.ts: `close`
 * (or a part that fails to start) stops the monitoring port, drains calls, sends the last spans,
 * stops the watches, and flushes what adapters buffer, in that order.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { Lifecycle } from '../lib/lifecycle.ts';
import { closeHttpServer, listenOn } from '../lib/listen.ts';
import type { Logger } from '../lib/log.ts';
import { createRegistry } from '../lib/metrics.ts';
import { globalDictionaryVersion, globalWordCount } from '../lib/mixer/global-dictionary.ts';
import { opsHandler } from '../lib/ops-server.ts';
import type { Adapter, Template } from './adapter.ts';
import { AdapterRegistry, loadAdapterModule } from './adapter-registry.ts';
import { builtinAdapters } from './adapters/index.ts';
import { ConfigController } from './config/controller.ts';
import { configObjectsFromYaml } from './config/yaml-objects.ts';
import { MixerCore } from './core.ts';
import { defaultCheckPolicy, type FailPolicy } from './dispatch/check.ts';
import { createMixerGrpcServer } from './grpc-server.ts';
import { watchConfig, type KubeConfigSource } from './kube/config-source.ts';
import { mixerKinds } from './kube/crds.ts';
import { watchPodWorkloads, type PodWorkloads } from './kube/pod-workloads.ts';
import { kubeProblemSink } from './kube/problem-events.ts';
import { createMixerMetrics } from './metrics.ts';
import { loadTracer } from '../lib/tracing/tracer.ts';
import { callTracer } from './tracing.ts';

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
  /** Percent of calls without a trace context that start a trace (default 1). */
  readonly traceSampling?: number;
  /** This replica's name (Events' reportingInstance). */
  readonly instance: string;
  readonly extraAdapters?: readonly Adapter[];
  /** Templates to add besides the modules' (tests). */
  readonly extraTemplates?: readonly Template[];
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
  /** Stops everything once, in reverse start order; later calls return the same promise. */
  close(): Promise<void>;
}

/**
 * Starts Mixer. Each part is registered on the Lifecycle as it starts; if a later part fails (a
 * port already taken), what was started is stopped before the error is thrown. `close` stops
 * accepting calls, then flushes what adapters buffer and stops the watches.
 */
export function runMixer(opts: MixerOptions): Promise<RunningMixer> {
  const { logger } = opts;
  return Lifecycle.start(logger, async (life) => {
    const user: Adapter[] = [...(opts.extraAdapters ?? [])];
    const templates: Template[] = [...(opts.extraTemplates ?? [])];
    for (const m of opts.adapterModules) {
      const mod = await loadAdapterModule(m);
      user.push(...mod.adapters);
      templates.push(...mod.templates);
    }
    const registry = new AdapterRegistry([...builtinAdapters, ...user], templates);
    if (user.length + templates.length > 0) {
      logger.info(
        { adapters: user.map((a) => a.name), templates: templates.map((t) => t.name) },
        'user adapters and templates loaded',
      );
    }

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
    // Stopped last: adapters flush what they buffered once no call is left.
    life.add('config controller and adapters', controller, async (c) => {
      await c.flush();
      await c.close();
    });
    controller.onSnapshot((s) => {
      mixerMetrics.configProblems.set(s.problems.length);
      mixerMetrics.configSnapshot.set(s.id);
    });

    let isReady = false;
    const fileObjects = opts.configFiles.flatMap((f) =>
      configObjectsFromYaml(readFileSync(f, 'utf8'), f, opts.configDefaultNamespace),
    );
    for (const o of fileObjects) controller.upsert(o);
    let source: KubeConfigSource | undefined;
    if (opts.kc) {
      const extraKinds = registry
        .configKinds()
        .filter((k) => !(mixerKinds as readonly string[]).includes(k));
      source = life.add(
        'config informers',
        watchConfig({
          kc: opts.kc,
          kinds: [...mixerKinds, ...extraKinds],
          controller,
          logger,
        }),
        (w) => w.stop(),
      );
    }
    let workloads: PodWorkloads | undefined;
    if (opts.kc && opts.workloadAttributes !== false) {
      workloads = watchPodWorkloads({ kc: opts.kc, logger });
      workloads.start();
      life.add('pod informer', workloads, (w) => w.stop());
    }
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

    // OpenTelemetry's SDK is loaded only when spans go somewhere.
    const tracer =
      opts.zipkinUrl === undefined || opts.zipkinUrl === ''
        ? undefined
        : life.add(
            'tracer',
            await loadTracer({
              zipkinUrl: opts.zipkinUrl,
              serviceName: 'istio-mixer',
              samplingPercent: opts.traceSampling ?? 1,
              attributes: { 'service.instance.id': opts.instance },
              logger,
            }),
            (t) => t.close(),
          );
    const core = new MixerCore({
      controller,
      policy: { ...defaultCheckPolicy, failPolicy: opts.failPolicy },
      metrics: mixerMetrics,
      logger,
      workloads,
    });
    // Each server is registered before it binds, so a port already taken still stops it.
    const grpc = life.add(
      'gRPC server',
      createMixerGrpcServer({ core, logger, ...(tracer ? { tracer: callTracer(tracer) } : {}) }),
      (g) => g.close(),
    );
    const grpcPort = await grpc.listen(opts.port, opts.host);
    const ops = life.add(
      'monitoring server',
      createServer(opsHandler(metrics, () => (isReady ? undefined : 'config not loaded yet'))),
      closeHttpServer,
    );
    const monitoringPort = await listenOn(ops, opts.monitoringPort, opts.host);
    logger.info(
      {
        grpcPort,
        monitoringPort,
        dictionary: globalDictionaryVersion,
        words: globalWordCount,
        failPolicy: opts.failPolicy,
      },
      'Mixer started',
    );

    return { grpcPort, monitoringPort, core, ready: () => readyPromise };
  });
}

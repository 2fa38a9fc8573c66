/**
 * `istio-lite pilot`: the service registries of `--registries` (Kubernetes informers, Consul,
 * Eureka; or a registry handed in by a test) merged by pilot/registry/aggregate.ts, the traffic
 * config (the Kubernetes CRDs and Ingresses, or one handed in), the discovery service, ADS on
 * gRPC, the status writer (RouteRule & co. conditions), and the HTTP port with /healthz, /ready,
 * /metrics and /debug/*.
 *
 * `/ready` is 200 once every registry has had its first complete view and the first snapshot is
 * built. A registry that goes down after that does not make Pilot unready: Pilot keeps serving its
 * last good view (and says so in /ready's body, /debug/registryz and `pilot_registry_*`), since
 * an unready Pilot would leave every sidecar without updates, Kubernetes ones included. Before its
 * first sync it does: a Pilot that served without it would tell the sidecars connecting to it that
 * the registry's services do not exist, while other replicas still serve them.
 *
 * Started with lib/lifecycle.ts: a part that fails to start (a port already taken) stops the parts
 * started before it.
 */
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { envoyRoot } from '../lib/xds/protos.ts';
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import type { KubeCredentials } from '../lib/kube/credentials.ts';
import { KubeHttp } from '../lib/kube/http.ts';
import { Lifecycle } from '../lib/lifecycle.ts';
import { closeHttpServer, listenOn } from '../lib/listen.ts';
import type { Logger } from '../lib/log.ts';
import { createRegistry, type Registry } from '../lib/metrics.ts';
import { opsHandler } from '../lib/ops-server.ts';
import { debugOverAds, debugOverHttp, debugPages } from './debug.ts';
import type { ConfigSource } from './config/model.ts';
import { AutoRegistration } from './kube/auto-register.ts';
import { KubeConfigWatch } from './kube/config-watch.ts';
import { KubeRegistry } from './kube/kube-registry.ts';
import {
  KubernetesRegistry,
  type PlatformRegistry,
  type ServiceRegistry,
} from './model/service.ts';
import { AggregateRegistry, conflictLine, standIn, statusLine } from './registry/aggregate.ts';
import { ConsulRegistry } from './registry/consul.ts';
import { EurekaRegistry } from './registry/eureka.ts';
import { registerRegistryMetrics } from './registry/metrics.ts';
import type { RetryOptions } from './registry/sync-tracker.ts';
import { IngressStatusSync } from './kube/ingress-status.ts';
import { StatusWriter } from './kube/status-writer.ts';
import type { MeshBuild } from './snapshot/mesh-build.ts';
import { AdsServer } from './xds/ads-server.ts';
import { DiscoveryServer } from './xds/discovery.ts';
import { createXdsMetrics } from './xds/metrics.ts';
import type { PilotSettings, RegistrySpec } from './settings.ts';

/** What Pilot runs with: its settings (pilot/settings.ts) and what it runs against. */
export interface PilotOptions extends Omit<
  PilotSettings,
  'kubeconfig' | 'registries' | 'workloadEntryGraceMs'
> {
  readonly logger: Logger;
  /**
   * The Kubernetes cluster: the Kubernetes registry and the traffic config (RouteRules & co. and
   * Ingresses come from it whatever the registries, as in Istio 0.2). Not needed with `registry`.
   * lib/kube/credentials.ts's (the command's, without client-node) or a client-node KubeConfig.
   */
  readonly kc?: KubeCredentials;
  /** The registries in `--registries` order (default: Kubernetes alone). */
  readonly registries?: readonly RegistrySpec[];
  /**
   * A registry to serve as the Kubernetes one (tests, the bench); with it, no Kubernetes cluster
   * is watched at all and the traffic config is `config` (none when absent).
   */
  readonly registry?: ServiceRegistry;
  /** Traffic config to serve instead of the Kubernetes CRDs and Ingresses. */
  readonly config?: ConfigSource;
  /** How long an auto-registered WorkloadEntry outlives its proxy's connection (default 10 s). */
  readonly workloadEntryGraceMs?: number;
  /** Retry timing of the registries that read a server (Consul, Eureka); tests shorten it. */
  readonly registryRetry?: Partial<RetryOptions>;
  /** This replica's name in debug pages and status (default: POD_NAME, else the host name). */
  readonly instance?: string;
  /** Called once, after the first build (what /ready waits for). */
  readonly onFirstBuild?: () => void;
}

export interface RunningPilot {
  readonly xdsPort: number;
  readonly httpPort: number;
  readonly discovery: DiscoveryServer;
  readonly metrics: Registry;
  /** The registries as one, with their statuses and conflicts. */
  readonly registries: AggregateRegistry;
  /** Stops everything once, in reverse start order; later calls return the same promise. */
  close(): Promise<void>;
}

/**
 * Starts Pilot. Each part is registered on the Lifecycle as it starts; if a later part fails (a
 * port already taken), what was started is stopped before the error is thrown.
 */
export function runPilot(o: PilotOptions): Promise<RunningPilot> {
  const log = o.logger;
  const instance = o.instance ?? process.env['POD_NAME'] ?? hostname();
  return Lifecycle.start(log, async (life) => {
    const metrics = createRegistry('pilot');
    let watch: KubeConfigWatch | undefined;
    let status: StatusWriter | undefined;
    let ingressStatus: IngressStatusSync | undefined;
    let autoRegistration: AutoRegistration | undefined;
    let config = o.config;
    // One client (and connection pool) for every part that reads or writes the API server.
    const kube = o.kc === undefined ? undefined : new KubeHttp(o.kc);
    if (o.registry === undefined) {
      if (kube === undefined) {
        throw new IstioLiteError(ErrorCode.Internal, 'runPilot: either kc or registry is required');
      }
      if (config === undefined) {
        const w = new KubeConfigWatch({
          http: kube,
          logger: log,
          domain: o.domain,
          ingressClass: o.mesh.ingressClass,
        });
        watch = w;
        config = w;
        status = new StatusWriter({
          http: kube,
          logger: log,
          raw: (kind, ns, name) => w.raw(kind, ns, name),
          instance,
        });
      }
      autoRegistration = new AutoRegistration({
        http: kube,
        logger: log,
        instance,
        gracePeriodMs: o.workloadEntryGraceMs ?? 10_000,
      });
      ingressStatus = new IngressStatusSync({
        http: kube,
        logger: log,
        ingressService: o.mesh.ingressService,
      });
    }
    const members = (o.registries ?? [{ kind: 'Kubernetes' }]).map((spec) =>
      platformRegistry(spec, o, kube),
    );
    const registries = new AggregateRegistry(members, log);
    registerRegistryMetrics(metrics, registries);
    let firstBuild = o.onFirstBuild;
    const discovery = new DiscoveryServer({
      registry: registries,
      ...(config ? { config } : {}),
      onBuild: (b: MeshBuild) => {
        status?.report(b.traffic);
        ingressStatus?.setIngresses(b.traffic.ingresses.map((i) => i.meta));
        firstBuild?.();
        firstBuild = undefined;
      },
      mesh: o.mesh,
      logger: log,
      metrics: createXdsMetrics(metrics),
      debounceMs: o.debounceMs,
      debounceMaxMs: o.debounceMaxMs,
      domain: o.domain,
      ...(autoRegistration ? { proxies: autoRegistration } : {}),
    });
    if (autoRegistration) {
      autoRegistration.start();
      life.add('workload auto-registration', autoRegistration, (a) => a.stop());
    }
    discovery.start();
    life.add('discovery', discovery, (d) => {
      d.stop();
    });
    // Registries and informers sync in the background; /ready says when.
    for (const r of members) {
      r.start().catch((e: unknown) => {
        if (!life.isClosing) log.error({ err: e, registry: r.name }, 'registry failed to start');
      });
      life.add(`${r.name} registry`, r, (x) => x.stop());
    }
    if (watch) {
      watch.start().catch((e: unknown) => {
        if (!life.isClosing) log.error({ err: e }, 'config watch failed to start');
      });
      life.add('traffic config informers', watch, (w) => w.stop());
    }
    if (ingressStatus) {
      ingressStatus.start();
      life.add('ingress status', ingressStatus, (i) => i.stop());
    }

    // Each server is registered before it binds, so a port already taken still stops it.
    const pages = debugPages(discovery, registries, instance);
    const ads = life.add(
      'ADS server',
      new AdsServer({ discovery, logger: log, debug: (name) => debugOverAds(pages, name) }),
      (a) => a.close(),
    );
    const xdsPort = await ads.listen(o.xdsHost, o.xdsPort);

    const handler = opsHandler(
      metrics,
      () => discovery.notReady(),
      () => registryNotes(registries),
      debugOverHttp(pages),
    );
    const http = life.add('HTTP server', createServer(handler), closeHttpServer);
    const httpPort = await listenOn(http, o.httpPort, o.httpHost);
    log.info(
      {
        xdsPort,
        httpPort,
        authPolicy: o.mesh.authPolicy,
        registries: members.map((m) => m.name),
      },
      'pilot serving',
    );
    // Envoy's protos (~0.4 s to parse) are read while the registries' first lists are on their
    // way, rather than by the first build, which /ready waits for.
    setImmediate(() => {
      if (!life.isClosing) envoyRoot();
    });

    return { xdsPort, httpPort, discovery, metrics, registries };
  });
}

/** One registry of `--registries`, ready to start. */
function platformRegistry(
  spec: RegistrySpec,
  o: PilotOptions,
  http: KubeHttp | undefined,
): PlatformRegistry {
  const retry = o.registryRetry ? { retry: o.registryRetry } : {};
  switch (spec.kind) {
    case 'Kubernetes':
      if (o.registry !== undefined) return standIn(o.registry, KubernetesRegistry);
      if (http === undefined) {
        throw new IstioLiteError(ErrorCode.Internal, 'runPilot: the Kubernetes registry needs kc');
      }
      return new KubeRegistry({ http, logger: o.logger, domain: o.domain });
    case 'Consul':
      return new ConsulRegistry({ url: spec.url, logger: o.logger, ...retry });
    case 'Eureka':
      return new EurekaRegistry({ url: spec.url, logger: o.logger, pollMs: spec.pollMs, ...retry });
  }
}

/** Lines /ready adds while ready: registries serving a last good view, hostname clashes. */
function registryNotes(r: AggregateRegistry): string[] {
  const now = Date.now();
  return [
    ...r.statuses().flatMap((s) => statusLine(s, now) ?? []),
    ...r.conflicts().map(conflictLine),
  ];
}

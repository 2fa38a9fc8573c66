/**
 * `istio-lite pilot`: the registry and the traffic config (Kubernetes informers, or ones handed in
 * by a test), the discovery service, ADS on gRPC, the status writer (RouteRule & co. conditions),
 * and the HTTP port with /healthz, /ready, /metrics and /debug/*. `/ready` is 200 only once every
 * informer has synced and the first snapshot is built. Started with lib/lifecycle.ts: a part that
 * fails to start (a port already taken) stops the parts started before it.
 */
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { Lifecycle } from '../lib/lifecycle.ts';
import { closeHttpServer, listenOn } from '../lib/listen.ts';
import type { Logger } from '../lib/log.ts';
import { createRegistry, type Registry } from '../lib/metrics.ts';
import { opsApp } from '../lib/ops-server.ts';
import { mountDebug } from './debug.ts';
import type { ConfigSource } from './config/model.ts';
import { KubeConfigWatch } from './kube/config-watch.ts';
import { KubeRegistry } from './kube/kube-registry.ts';
import { IngressStatusSync } from './kube/ingress-status.ts';
import { StatusWriter } from './kube/status-writer.ts';
import type { MeshBuild } from './snapshot/mesh-build.ts';
import type { ServiceRegistry } from './model/service.ts';
import { AdsServer } from './xds/ads-server.ts';
import { DiscoveryServer } from './xds/discovery.ts';
import { createXdsMetrics } from './xds/metrics.ts';
import type { PilotSettings } from './settings.ts';

/** What Pilot runs with: its settings (pilot/settings.ts) and what it runs against. */
export interface PilotOptions extends Omit<PilotSettings, 'kubeconfig'> {
  readonly logger: Logger;
  /** The Kubernetes cluster to watch; ignored when `registry` is given. */
  readonly kc?: KubeConfig;
  /** A registry to serve instead of the Kubernetes one (tests, the bench). */
  readonly registry?: ServiceRegistry;
  /** Traffic config to serve instead of the Kubernetes CRDs and Ingresses (with `registry`). */
  readonly config?: ConfigSource;
}

export interface RunningPilot {
  readonly xdsPort: number;
  readonly httpPort: number;
  readonly discovery: DiscoveryServer;
  readonly metrics: Registry;
  /** Stops everything once, in reverse start order; later calls return the same promise. */
  close(): Promise<void>;
}

/**
 * Starts Pilot. Each part is registered on the Lifecycle as it starts; if a later part fails (a
 * port already taken), what was started is stopped before the error is thrown.
 */
export function runPilot(o: PilotOptions): Promise<RunningPilot> {
  const log = o.logger;
  return Lifecycle.start(log, async (life) => {
    const metrics = createRegistry('pilot');
    let kube: KubeRegistry | undefined;
    let watch: KubeConfigWatch | undefined;
    let status: StatusWriter | undefined;
    let ingressStatus: IngressStatusSync | undefined;
    let registry = o.registry;
    let config = o.config;
    if (registry === undefined) {
      if (o.kc === undefined) {
        throw new IstioLiteError(ErrorCode.Internal, 'runPilot: either kc or registry is required');
      }
      kube = new KubeRegistry({ kc: o.kc, logger: log, domain: o.domain });
      registry = kube;
      const w = new KubeConfigWatch({
        kc: o.kc,
        logger: log,
        domain: o.domain,
        ingressClass: o.mesh.ingressClass,
      });
      watch = w;
      config = w;
      status = new StatusWriter({
        kc: o.kc,
        logger: log,
        raw: (kind, ns, name) => w.raw(kind, ns, name),
        instance: process.env['POD_NAME'] ?? hostname(),
      });
      ingressStatus = new IngressStatusSync({
        kc: o.kc,
        logger: log,
        ingressService: o.mesh.ingressService,
      });
    }
    const discovery = new DiscoveryServer({
      registry,
      ...(config ? { config } : {}),
      ...(status
        ? {
            onBuild: (b: MeshBuild) => {
              status.report(b.traffic);
              ingressStatus?.setIngresses(b.traffic.ingresses.map((i) => i.meta));
            },
          }
        : {}),
      mesh: o.mesh,
      logger: log,
      metrics: createXdsMetrics(metrics),
      debounceMs: o.debounceMs,
      debounceMaxMs: o.debounceMaxMs,
      domain: o.domain,
    });
    discovery.start();
    life.add('discovery', discovery, (d) => {
      d.stop();
    });
    // Informers sync in the background; /ready says when.
    if (kube) {
      kube.start().catch((e: unknown) => {
        if (!life.isClosing) log.error({ err: e }, 'registry failed to start');
      });
      life.add('service registry informers', kube, (k) => k.stop());
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
    const ads = life.add('ADS server', new AdsServer({ discovery, logger: log }), (a) => a.close());
    const xdsPort = await ads.listen(o.xdsHost, o.xdsPort);

    const app = opsApp(metrics, () => discovery.notReady());
    mountDebug(app, discovery);
    const http = life.add('HTTP server', createServer(app), closeHttpServer);
    const httpPort = await listenOn(http, o.httpPort, o.httpHost);
    log.info({ xdsPort, httpPort, authPolicy: o.mesh.authPolicy }, 'pilot serving');

    return { xdsPort, httpPort, discovery, metrics };
  });
}

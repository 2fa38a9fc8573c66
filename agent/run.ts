/**
 * `istio-lite agent sidecar|router`: everything the agent runs, wired from its configuration.
 * The certificate source feeds SDS; Envoy's ADS goes through the xDS proxy to Pilot; ext_authz and
 * ALS go to the Mixer client; the status port runs application probes; the readiness port is
 * ready when the certificate is loaded, Envoy ACKed a full config and Envoy is live. Envoy is
 * started with the bootstrap and supervised.
 *
 * Started with lib/lifecycle.ts, each part registered as it starts: Kubernetes Secret watches
 * (router), the certificate source, the xDS proxy, the Mixer client and report batcher, the gRPC
 * server on the sockets, the status and readiness ports, Envoy. `close` (SIGTERM through
 * cli/serve.ts) runs them in reverse: readiness turns false (the kubelet stops sending traffic),
 * Envoy drains and stops, waiting reports are flushed to Mixer, then every server, stream and watch
 * closes. A part that fails to start stops those started before it.
 */
import { lookup } from 'node:dns/promises';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { errorMessage } from '../lib/errors.ts';
import { Lifecycle } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/log.ts';
import { createRegistry, type Registry } from '../lib/metrics.ts';
import { loadTracer, zipkinSpansUrl } from '../lib/tracing/tracer.ts';
import { buildBootstrap, type BootstrapInput } from './bootstrap/bootstrap.ts';
import { nodeId, nodeIdentity } from './bootstrap/node.ts';
import type { CertificateSource } from './certs/certificate-source.ts';
import { certificateSourceFor } from './certs/from-config.ts';
import type { AgentConfig } from './settings.ts';
import { envoyArgs } from './envoy/command-line.ts';
import { EnvoySupervisor } from './envoy/supervisor.ts';
import { LocalGrpcServer, LocalH2Server } from './grpc/local-server.ts';
import {
  AccessLogService,
  AdsService,
  AuthorizationService,
  SdsService,
} from './grpc/raw-service.ts';
import { CheckCache } from './mixer/check-cache.ts';
import { Checker } from './mixer/checker.ts';
import { alsHandlers, authzHandlers } from './mixer/mixer-servers.ts';
import { createMixerClient, type MixerApi } from './mixer/mixer-client.ts';
import { ReportBatcher } from './mixer/report-batcher.ts';
import { reporterFor } from './mixer/reporter.ts';
import { LazySecretSource } from './sds/lazy-secrets.ts';
import { KubernetesSecretPrefix, type NamedSecretSource } from './sds/named-secrets.ts';
import { SdsServer } from './sds/sds-server.ts';
import { Readiness } from './status/readiness.ts';
import { listenHttp, readinessHandler, statusHandler } from './status/status-server.ts';
import { AckTracker } from './xds/ack-tracker.ts';
import { XdsProxy } from './xds/xds-proxy.ts';

export interface AgentRunOptions {
  readonly config: AgentConfig;
  readonly logger: Logger;
  /** Address the status and readiness ports listen on (0.0.0.0 in a pod). */
  readonly listenHost: string;
  /** Where application probes connect (default: the pod IP). */
  readonly appHost?: string;
  /** Replaces the source the config names (tests). */
  readonly certificateSource?: CertificateSource;
  /** Replaces the Mixer client the config names (tests, the bench). */
  readonly mixer?: MixerApi;
  /** Supervision timings (tests). */
  readonly envoy?: {
    readonly backoff?: { initialMs: number; maxMs: number };
    readonly pollMs?: number;
    readonly env?: NodeJS.ProcessEnv;
  };
  /** Quotas asked for on every check (name → amount). */
  readonly quotas?: ReadonlyMap<string, number>;
  /** Report batching (tests). */
  readonly reportDelayMs?: number;
}

export interface RunningAgent {
  readonly statusPort: number;
  readonly readinessPort: number;
  readonly readiness: Readiness;
  readonly tracker: AckTracker;
  readonly metrics: Registry;
  readonly batcher: ReportBatcher | undefined;
  readonly bootstrap: BootstrapInput;
  /** Logs why, then `close()`. */
  shutdown(reason: string): Promise<void>;
  /**
   * Stops once (later calls return the same promise), in reverse start order: readiness turns
   * false, Envoy drains and stops, reports are flushed, then every server, stream and watch.
   */
  close(): Promise<void>;
}

async function writeAtomically(path: string, body: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, body, { mode: 0o640 });
  await rename(tmp, path);
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

async function bootstrapInput(c: AgentConfig, logger: Logger): Promise<BootstrapInput> {
  let statsd: BootstrapInput['statsd'];
  if (c.statsdUdpAddress !== undefined) {
    const { host, port } = hostPort(c.statsdUdpAddress);
    try {
      const ip = isIP(host) !== 0 ? host : (await lookup(host, { family: 4 })).address;
      statsd = { ip, port };
    } catch (e) {
      logger.warn(
        { address: c.statsdUdpAddress, error: errorMessage(e) },
        'statsd address does not resolve; no statsd sink',
      );
    }
  }
  return {
    node: nodeIdentity(c),
    adminPort: c.proxyAdminPort,
    statsPort: c.statsPort,
    sockets: c.sockets,
    connectTimeoutMs: c.connectTimeoutMs,
    ...(c.zipkinAddress === undefined ? {} : { zipkin: hostPort(c.zipkinAddress) }),
    ...(statsd === undefined ? {} : { statsd }),
  };
}

/**
 * The `kubernetes://` secret source of router mode, its Kubernetes client loaded on the first
 * request for such a name (lazy-secrets.ts): most gateways never ask.
 */
function kubeSecretSource(kubeconfig: string | undefined, log: Logger): NamedSecretSource {
  return new LazySecretSource({
    handles: (name) => name.startsWith(KubernetesSecretPrefix),
    logger: log,
    load: async () => {
      const [{ KubeSecretSource }, { loadKubeConfig }] = await Promise.all([
        import('./sds/kube-secrets.ts'),
        import('../lib/kube/client.ts'),
      ]);
      return new KubeSecretSource({ kubeConfig: () => loadKubeConfig(kubeconfig), logger: log });
    },
  });
}

/**
 * Starts the agent. Each part is registered on the Lifecycle as it starts (see the order at the
 * top); if a later part fails (a port already taken), what was started is stopped before the error
 * is thrown. Every stop step is bounded by the drain window plus 10 s.
 */
export function runAgent(o: AgentRunOptions): Promise<RunningAgent> {
  const c = o.config;
  const log = o.logger;
  const stepTimeoutMs = Math.max(c.drainMs, c.parentShutdownMs) + 10_000;
  return Lifecycle.start(
    log,
    async (life) => {
      const metrics = createRegistry('istio_agent');
      const readiness = new Readiness();
      let draining = false;

      // Certificates → SDS.
      const source = o.certificateSource ?? certificateSourceFor(c, log);
      // Gateways also serve Ingress TLS Secrets (`kubernetes://<ns>/<name>`); sidecars never read
      // them, and a gateway loads the Kubernetes client (tens of MB of heap) only when Envoy first
      // asks for one.
      const kubeSecrets =
        c.mode === 'router'
          ? life.add('Kubernetes Secret watches', kubeSecretSource(c.kubeconfig, log), (k) =>
              k.close(),
            )
          : undefined;
      const sds = new SdsServer({
        source,
        logger: log,
        metrics,
        ...(kubeSecrets ? { secrets: kubeSecrets } : {}),
      });
      source.start().then(
        (cert) => {
          sds.certificateReady(cert);
        },
        (e: unknown) => {
          if (!life.isClosing)
            log.error({ error: errorMessage(e) }, 'no workload certificate; SDS cannot serve');
        },
      );
      life.add('certificate source', source, (s) => {
        s.close();
      });

      // ADS through the agent.
      const tracker = new AckTracker();
      const xds = life.add(
        'xDS proxy',
        new XdsProxy({ upstream: c.discoveryAddress, tracker, logger: log, metrics }),
        (x) => {
          x.close();
        },
      );

      // Spans of checks and reports, when a collector is set: OpenTelemetry's SDK is loaded only
      // then (a sidecar without tracing never pays its memory). Closed after the reports' flush.
      const tracer =
        c.zipkinAddress === undefined
          ? undefined
          : life.add(
              'tracer',
              await loadTracer({
                zipkinUrl: zipkinSpansUrl(c.zipkinAddress),
                serviceName: 'istio-agent',
                samplingPercent: c.traceSampling,
                attributes: { 'service.instance.id': nodeId(c) },
                logger: log,
              }),
              (t) => t.close(),
            );

      // Mixer client: ext_authz and ALS.
      const mixer =
        o.mixer ?? (c.mixerAddress === undefined ? undefined : createMixerClient(c.mixerAddress));
      if (mixer) {
        life.add('Mixer client', mixer, (m) => {
          m.close();
        });
      }
      const checker = new Checker({
        mixer,
        cache: new CheckCache({ leadMs: c.mixerCheckTimeoutMs }),
        failOpen: c.mixerFailOpen,
        timeoutMs: c.mixerCheckTimeoutMs,
        quotas: o.quotas ?? new Map(),
        logger: log,
        metrics,
      });
      const batcher =
        mixer === undefined
          ? undefined
          : life.add(
              'report batcher',
              new ReportBatcher({
                mixer,
                logger: log,
                metrics,
                tracer,
                ...(o.reportDelayMs === undefined ? {} : { maxDelayMs: o.reportDelayMs }),
              }),
              (b) => {
                b.close();
              },
            );

      // Registered before it binds, so a socket that cannot be bound still stops it. Its stop
      // ends the SDS and ADS streams first, so the grace period does not wait on them.
      const grpc = life.add('gRPC server', new LocalGrpcServer(), async (g) => {
        sds.close();
        xds.close();
        await g.close();
      });
      grpc.add(SdsService, sds.handlers());
      grpc.add(AdsService, xds.handlers());
      // The MIXER socket (ext_authz on every request, access logs) on lib/h2.
      const mixerServer = life.add('Mixer socket server', new LocalH2Server(), (m) => m.close());
      const reporter = reporterFor(c.mode, c.pod);
      mixerServer.add(AuthorizationService, authzHandlers(checker, reporter, log, tracer));
      if (batcher) mixerServer.add(AccessLogService, alsHandlers(batcher, reporter, log));
      await mkdir(c.configPath, { recursive: true });
      for (const socket of [c.sockets.xds, c.sockets.sds]) {
        await grpc.bind(socket);
      }
      await mixerServer.bind(c.sockets.mixer);

      const bootstrap = await bootstrapInput(c, log);
      await writeAtomically(
        c.bootstrapPath,
        `${JSON.stringify(buildBootstrap(bootstrap), null, 2)}\n`,
      );

      readiness.add({
        name: 'draining',
        check: () => (draining ? 'the agent is shutting down' : undefined),
      });
      readiness.add({
        name: 'certificate',
        check: () => (source.current() ? undefined : 'no workload certificate yet'),
      });
      readiness.add({ name: 'config', check: () => tracker.notReady() });

      let envoy: EnvoySupervisor | undefined;
      if (c.startEnvoy) {
        envoy = new EnvoySupervisor({
          binaryPath: c.binaryPath,
          args: envoyArgs(c),
          adminPort: c.proxyAdminPort,
          logger: log.child({ component: 'envoy-supervisor' }),
          metrics,
          drainMs: c.drainMs,
          stopGraceMs: c.parentShutdownMs,
          ...(o.envoy?.backoff ? { backoff: o.envoy.backoff } : {}),
          ...(o.envoy?.pollMs === undefined ? {} : { pollMs: o.envoy.pollMs }),
          ...(o.envoy?.env ? { env: o.envoy.env } : {}),
          onExit: () => {
            tracker.reset();
          },
        });
        const e = envoy;
        readiness.add({ name: 'envoy', check: () => e.live() });
      }

      const appHost = o.appHost ?? c.pod.ip;
      const status = life.add(
        'status server',
        await listenHttp(
          statusHandler({ probers: c.appProbers, appHost, readiness, metrics, logger: log }),
          o.listenHost,
          c.statusPort,
        ),
        (l) => l.close(),
      );
      const ready = life.add(
        'readiness server',
        await listenHttp(readinessHandler(readiness), o.listenHost, c.readinessPort),
        (l) => l.close(),
      );

      // The drain, run first on close: readiness turns false, Envoy drains and stops (its last
      // access logs arrive meanwhile), then waiting reports are flushed to Mixer.
      if (batcher) {
        life.onStop('flush reports', async () => {
          const left = await batcher.drain(5000);
          if (left > 0)
            log.error({ lost: left }, 'reports could not be delivered to Mixer before exit');
        });
      }
      if (envoy) {
        envoy.start();
        life.add('drain Envoy', envoy, (e) => e.drainAndStop());
      }
      life.onStop('stop being ready', () => {
        draining = true;
      });

      log.info(
        {
          mode: c.mode,
          node: bootstrap.node.id,
          statusPort: status.port,
          readinessPort: ready.port,
          discovery: c.discoveryAddress,
          mixer: c.mixerAddress,
          certificates: c.caAddress === undefined ? join(c.certsDir) : `CSR to ${c.caAddress}`,
          envoy: c.startEnvoy ? c.binaryPath : 'not started',
        },
        'agent running',
      );
      return {
        statusPort: status.port,
        readinessPort: ready.port,
        readiness,
        tracker,
        metrics,
        batcher,
        bootstrap,
        shutdown: (reason: string) => {
          if (!life.isClosing) log.info({ reason }, 'shutting down');
          return life.close();
        },
      };
    },
    stepTimeoutMs,
  );
}

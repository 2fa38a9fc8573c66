/**
 * `istio-lite ca`: loads (or creates) the root, serves the CSR API over TLS, runs the Secret
 * controller and the monitoring endpoints. Started with lib/lifecycle.ts: `close` (or a part that
 * fails to start) stops the watches, then stops accepting and drains in-flight calls, then the
 * monitoring port, each part in reverse start order.
 */
import { createServer } from 'node:http';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { Lifecycle } from '../lib/lifecycle.ts';
import { closeHttpServer, listenOn } from '../lib/listen.ts';
import type { Logger } from '../lib/log.ts';
import { createRegistry, type Registry } from '../lib/metrics.ts';
import { opsHandler } from '../lib/ops-server.ts';
import { watchFiles } from '../lib/watched-files.ts';
import { createAuthenticator } from './authn.ts';
import { CertificateAuthority } from './authority.ts';
import { watchBootstrapTokenSecrets } from './bootstrap-token-secrets.ts';
import {
  mergedBootstrapTokens,
  parseBootstrapTokens,
  type BootstrapToken,
} from './bootstrap-tokens.ts';
import type { CaConfig } from './settings.ts';
import { createCaGrpcServer } from './grpc-server.ts';
import { createCaMetrics } from './metrics.ts';
import { loadRoot } from './root-store.ts';
import { watchRoot } from './root-watch.ts';
import { createSecretController } from './secret-controller.ts';
import { issueServingCert, serviceHosts } from './serving-cert.ts';
import { kubeTokenReviewer } from './token-review.ts';

export interface RunningCa {
  readonly grpcPort: number;
  readonly monitoringPort: number;
  readonly authority: CertificateAuthority;
  readonly registry: Registry;
  /** Where the root came from (`Secret istio-system/istio-ca-secret`, …). */
  readonly rootSource: string;
  /** Resolves when the Secret controller has no work queued or running. */
  idle(): Promise<void>;
  /** Stops everything once, in reverse start order; later calls return the same promise. */
  close(): Promise<void>;
}

/**
 * Starts the CA. Each part is registered on the Lifecycle as it starts; if a later part fails (a
 * port already taken, a root that cannot be loaded), what was started is stopped before the
 * error is thrown.
 */
export function runCa(config: CaConfig, kc: KubeConfig, logger: Logger): Promise<RunningCa> {
  return Lifecycle.start(logger, async (life) => {
    const registry = createRegistry('istio_lite_ca');
    const metrics = createCaMetrics(registry);
    // Filled in as the parts start; /ready reads them.
    const state = { grpcListening: false, controllerSynced: () => false };

    // Monitoring first, so /healthz answers while the root loads and informers sync. Each server
    // is registered before it binds, so a port already taken still stops it.
    const opsServer = life.add(
      'monitoring server',
      createServer(
        opsHandler(registry, () => {
          if (!state.grpcListening) return 'CA gRPC server not started';
          if (!state.controllerSynced()) return 'Secret controller informers not synced';
          return undefined;
        }),
      ),
      closeHttpServer,
    );
    const monitoringPort = await listenOn(opsServer, config.monitoringPort, config.monitoringHost);

    const root = await loadRoot({
      core: kc.makeApiClient(CoreV1Api),
      namespace: config.namespace,
      ...(config.signingFiles ? { files: config.signingFiles } : {}),
      pluggedSecretName: config.pluggedSecretName,
      selfSigned: {
        keyAlgorithm: config.rootKeyAlgorithm,
        ttlMs: config.rootTtlMs,
        org: config.selfSignedOrg,
      },
      logger,
    });
    const authority = new CertificateAuthority({
      bundle: root.bundle,
      defaultTtlMs: config.workloadTtlMs,
      maxTtlMs: config.maxWorkloadTtlMs,
    });
    metrics.rootExpiry.set(root.bundle.root.validToDate.getTime() / 1000);
    logger.info(
      {
        source: root.source,
        created: root.created,
        root: root.bundle.root.subject,
        rootExpires: root.bundle.root.validTo,
      },
      'CA root loaded',
    );

    // Bootstrap tokens for VMs: the file's and the Secrets', merged (bootstrap-tokens.ts).
    const tokenSources: (() => Iterable<readonly [string, BootstrapToken]>)[] = [];
    if (config.bootstrapTokenFile !== undefined) {
      const file = config.bootstrapTokenFile;
      const watched = await watchFiles({
        name: 'bootstrap tokens',
        paths: [file],
        load: ([text]) => parseBootstrapTokens(text ?? '', file),
        logger,
      }).catch((e: unknown) => {
        throw new IstioLiteError(
          ErrorCode.InvalidConfig,
          `--bootstrap-token-file: ${errorMessage(e)}`,
          { cause: e },
        );
      });
      life.add('bootstrap token watch', watched, (w) => {
        w.close();
      });
      tokenSources.push(() => watched.get());
    }
    if (config.bootstrapTokenSecrets) {
      const secrets = life.add(
        'bootstrap token Secret watch',
        watchBootstrapTokenSecrets({ kc, namespace: config.namespace, logger }),
        (w) => w.stop(),
      );
      await secrets.start();
      tokenSources.push(() => secrets.current());
    }
    const tokens = mergedBootstrapTokens(tokenSources, logger);

    const hosts = serviceHosts(config.namespace, config.grpcHostnames);
    // Roots trusted for client certificates besides the current one: after a root change, the
    // previous root, so workloads can still renew with the certificates they hold.
    let previousRoots: string[] = [];
    let serving = issueServingCert(authority, hosts, config.serverCertTtlMs);
    const server = life.add(
      'CA gRPC server',
      createCaGrpcServer({
        authority,
        authenticate: createAuthenticator({
          trustDomain: config.trustDomain,
          tokenReviewer: kubeTokenReviewer(kc, config.tokenAudiences),
          bootstrapTokens: () => tokens(),
        }),
        metrics,
        logger,
        tls: serving.tls,
      }),
      (s) => s.close(),
    );
    const grpcPort = await server.listen(config.grpcPort, config.grpcHost);
    state.grpcListening = true;

    // Renew the serving certificate at half its life.
    let renewTimer: NodeJS.Timeout | undefined;
    const scheduleRenewal = () => {
      const half = (serving.notAfter.getTime() - Date.now()) / 2;
      renewTimer = setTimeout(
        () => {
          serving = issueServingCert(authority, hosts, config.serverCertTtlMs, previousRoots);
          server.updateTls(serving.tls);
          logger.info({ notAfter: serving.notAfter }, 'serving certificate renewed');
          scheduleRenewal();
        },
        Math.min(Math.max(half, 1000), 2 ** 31 - 1),
      );
      renewTimer.unref();
    };
    scheduleRenewal();
    life.onStop('serving certificate renewal', () => {
      clearTimeout(renewTimer);
    });

    const controller = life.add(
      'Secret controller',
      createSecretController({
        kc,
        authority,
        trustDomain: config.trustDomain,
        excludedNamespaces: config.excludedNamespaces,
        ...(config.listenedNamespace === undefined
          ? {}
          : { listenedNamespace: config.listenedNamespace }),
        ttlMs: config.workloadTtlMs,
        graceRatio: config.graceRatio,
        keyAlgorithm: config.workloadKeyAlgorithm,
        metrics,
        logger,
      }),
      (c) => c.stop(),
    );
    state.controllerSynced = () => controller.synced();
    await controller.start();

    if (config.signingFiles === undefined) {
      const rootWatch = life.add(
        'root watch',
        watchRoot({
          kc,
          namespace: config.namespace,
          pluggedSecretName: config.pluggedSecretName,
          current: () => authority.current,
          onChange: (bundle, source) => {
            previousRoots = [authority.rootPem];
            authority.setBundle(bundle);
            metrics.rootExpiry.set(bundle.root.validToDate.getTime() / 1000);
            serving = issueServingCert(authority, hosts, config.serverCertTtlMs, previousRoots);
            server.updateTls(serving.tls);
            logger.info(
              { source, root: bundle.root.subject },
              'CA root changed; re-issuing Secrets',
            );
            controller.resyncAll();
          },
          logger,
        }),
        (w) => w.stop(),
      );
      await rootWatch.start();
    }

    logger.info({ grpcPort, monitoringPort }, 'CA ready');
    return {
      grpcPort,
      monitoringPort,
      authority,
      registry,
      rootSource: root.source,
      idle: () => controller.idle(),
    };
  });
}

/**
 * `istio-lite webhook`: wires the injection server together on a Lifecycle (lib/lifecycle.ts).
 * In start order, each registered as soon as it runs: the config file watches (reloaded on
 * change), the namespace informer, the TlsSource (mounted files, reloaded; or self-managed:
 * Secret, caBundle patching, rotation before expiry) and the server, which answers with the
 * injector (injector.ts, the AdmissionHandler) and follows the TlsSource. A failing step (a port
 * already taken) stops what had started before the error reaches the caller; `close` drains the
 * server and stops everything once, in reverse order.
 */
import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { parseConfigText } from '../lib/config-file.ts';
import { errorMessage } from '../lib/errors.ts';
import { parseKubeVersion, type KubeVersion } from '../lib/kube-version.ts';
import { Lifecycle, type Running } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/log.ts';
import { parseMeshConfig, defaultMeshConfig } from '../lib/mesh-config.ts';
import { createRegistry } from '../lib/metrics.ts';
import { watchFiles } from '../lib/watched-files.ts';
import { defaultInjectorConfig, parseInjectorConfig } from './config.ts';
import { createInjector } from './injector.ts';
import { createWebhookMetrics } from './metrics.ts';
import { namespaceLabelsFromCluster } from './namespace-labels.ts';
import { selfManagedTlsSource } from './self-managed-tls.ts';
import { startWebhookServer, type WebhookServer } from './server.ts';
import type { WebhookSettings } from './settings.ts';
import { fileTlsSource, type TlsSource } from './tls-source.ts';

/** What the webhook runs with: its settings (webhook/settings.ts) and the cluster. */
export interface WebhookOptions extends Omit<WebhookSettings, 'kubeconfig'> {
  readonly kc: KubeConfig;
  readonly logger: Logger;
}

export type RunningWebhook = Running<{
  readonly port: number;
  readonly server: WebhookServer;
  /** The CA bundle clients must trust (self-managed mode), for tests and `npm start`. */
  caBundle(): string | undefined;
}>;

/** A config file's value, reloaded on change; without a file, the default. */
async function watchConfig<T>(
  life: Lifecycle,
  log: Logger,
  name: string,
  file: string | undefined,
  key: string,
  parse: (v: ReturnType<typeof parseConfigText>) => T,
  def: T,
): Promise<() => T> {
  if (file === undefined) return () => def;
  const w = life.add(
    name,
    await watchFiles({
      name,
      paths: [file],
      load: ([t]) => parse(parseConfigText(t ?? '', file, key)),
      logger: log,
    }),
    (f) => {
      f.close();
    },
  );
  return () => w.get();
}

async function clusterVersion(kc: KubeConfig, log: Logger): Promise<KubeVersion | undefined> {
  try {
    const v = await kc.makeApiClient(VersionApi).getCode();
    return parseKubeVersion(v.gitVersion);
  } catch (e) {
    log.warn(
      { error: errorMessage(e) },
      'cannot read the cluster version; nativeSidecars: auto means classic sidecars',
    );
    return undefined;
  }
}

export function runWebhook(o: WebhookOptions): Promise<RunningWebhook> {
  const log = o.logger;
  return Lifecycle.start(log, async (life) => {
    const config = await watchConfig(
      life,
      log,
      'injector config',
      o.injectConfigFile,
      'config',
      parseInjectorConfig,
      defaultInjectorConfig,
    );
    const mesh = await watchConfig(
      life,
      log,
      'mesh config',
      o.meshConfigFile,
      'mesh',
      parseMeshConfig,
      defaultMeshConfig,
    );

    const version = await clusterVersion(o.kc, log);
    const namespaces = life.add('namespace informer', namespaceLabelsFromCluster(o.kc, log), (n) =>
      n.stop(),
    );
    await namespaces.start();

    let tls: TlsSource;
    let caBundle: () => string | undefined = () => undefined;
    if (o.tlsCertFile !== undefined && o.tlsKeyFile !== undefined) {
      tls = life.add(
        'serving certificate files',
        await fileTlsSource({ certFile: o.tlsCertFile, keyFile: o.tlsKeyFile, logger: log }),
        (s) => s.stop(),
      );
    } else {
      const managed = life.add(
        'self-managed certificates',
        await selfManagedTlsSource({ ...o, logger: log }),
        (s) => s.stop(),
      );
      tls = managed;
      caBundle = () => managed.caBundle();
    }

    const registry = createRegistry('istio_lite_webhook');
    const handler = createInjector(
      {
        config,
        mesh,
        namespaceLabels: (ns) => namespaces.labels(ns),
        kubernetesVersion: () => version,
        failureMode: o.failureMode,
      },
      createWebhookMetrics(registry),
    );
    const server = life.add(
      'server',
      await startWebhookServer(
        {
          handler,
          tls,
          registry,
          logger: log,
          bodyLimitBytes: o.bodyLimitBytes,
          ready: () => namespaces.notReady(),
        },
        o.port,
        o.host,
      ),
      (s) => s.close(),
    );
    log.info(
      { port: server.port, tls: o.tlsCertFile ? 'files' : 'self-managed' },
      'webhook serving',
    );
    return { port: server.port, server, caBundle };
  });
}

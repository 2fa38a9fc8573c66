/**
 * `istio-lite webhook`: wires the injection server together. Config files reload on change; the
 * serving certificate comes from files (reloaded) or is self-managed (Secret, caBundle patching,
 * rotation before expiry). Returns a handle whose `close` drains and stops everything.
 */
import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { parseConfigText } from '../lib/config-file.ts';
import { errorMessage } from '../lib/errors.ts';
import { parseKubeVersion, type KubeVersion } from '../lib/kube-version.ts';
import type { Logger } from '../lib/log.ts';
import { parseMeshConfig, defaultMeshConfig, type MeshConfig } from '../lib/mesh-config.ts';
import { createRegistry } from '../lib/metrics.ts';
import { watchFiles, type WatchedFiles } from '../lib/watched-files.ts';
import { createCaBundlePatcher, type CaBundlePatcher } from './ca-bundle.ts';
import { CertStore } from './cert-store.ts';
import { defaultInjectorConfig, parseInjectorConfig, type InjectorConfig } from './config.ts';
import { createInjector, type FailureMode } from './injector.ts';
import { createWebhookMetrics } from './metrics.ts';
import { namespaceLabelsFromCluster } from './namespace-labels.ts';
import { startWebhookServer, type TlsMaterial, type WebhookServer } from './server.ts';

export interface WebhookOptions {
  readonly kc: KubeConfig;
  readonly logger: Logger;
  readonly port: number;
  readonly host: string;
  readonly injectConfigFile?: string | undefined;
  readonly meshConfigFile?: string | undefined;
  readonly tlsCertFile?: string | undefined;
  readonly tlsKeyFile?: string | undefined;
  /** The control plane's namespace (holds the certificate Secret). */
  readonly namespace: string;
  readonly secretName: string;
  readonly webhookConfigName: string;
  readonly webhookConfigLabel?: string | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly caLifetimeMs: number;
  readonly certLifetimeMs: number;
  readonly failureMode: FailureMode;
  readonly bodyLimitBytes: number;
}

export interface RunningWebhook {
  readonly port: number;
  readonly server: WebhookServer;
  /** The CA bundle clients must trust (self-managed mode), for tests and `npm start`. */
  caBundle(): string | undefined;
  close(): Promise<void>;
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

export async function runWebhook(o: WebhookOptions): Promise<RunningWebhook> {
  const log = o.logger;
  const closers: (() => Promise<void> | void)[] = [];
  const watch = async <T>(
    name: string,
    file: string | undefined,
    key: string,
    parse: (v: ReturnType<typeof parseConfigText>) => T,
    def: T,
  ) => {
    if (file === undefined) return { get: () => def, close: () => undefined };
    const w = await watchFiles({
      name,
      paths: [file],
      load: ([t]) => parse(parseConfigText(t ?? '', file, key)),
      logger: log,
    });
    return w;
  };
  const config: Pick<WatchedFiles<InjectorConfig>, 'get' | 'close'> = await watch(
    'injector config',
    o.injectConfigFile,
    'config',
    parseInjectorConfig,
    defaultInjectorConfig,
  );
  closers.push(() => {
    config.close();
  });
  const mesh: Pick<WatchedFiles<MeshConfig>, 'get' | 'close'> = await watch(
    'mesh config',
    o.meshConfigFile,
    'mesh',
    parseMeshConfig,
    defaultMeshConfig,
  );
  closers.push(() => {
    mesh.close();
  });

  const version = await clusterVersion(o.kc, log);
  const namespaces = namespaceLabelsFromCluster(o.kc, log);
  await namespaces.start();
  closers.push(() => namespaces.stop());

  const registry = createRegistry('istio_lite_webhook');
  const handler = createInjector({
    config: () => config.get(),
    mesh: () => mesh.get(),
    namespaceLabels: (ns) => namespaces.labels(ns),
    kubernetesVersion: () => version,
    failureMode: o.failureMode,
  });

  let tls: TlsMaterial;
  let bundle: string | undefined;
  // The server exists only after the certificates do; rotations before that have nothing to update.
  const sink: { server?: WebhookServer } = {};
  const onRotate = (t: TlsMaterial) => sink.server?.setTls(t);
  let patcher: CaBundlePatcher | undefined;
  if (o.tlsCertFile !== undefined && o.tlsKeyFile !== undefined) {
    const files = await watchFiles({
      name: 'serving certificate',
      paths: [o.tlsCertFile, o.tlsKeyFile],
      load: ([cert, key]) => ({ cert: cert ?? '', key: key ?? '' }),
      logger: log,
    });
    files.onChange(onRotate);
    closers.push(() => {
      files.close();
    });
    tls = files.get();
  } else {
    const store = new CertStore({
      kc: o.kc,
      namespace: o.namespace,
      secretName: o.secretName,
      dnsNames: o.dnsNames,
      ipAddresses: o.ipAddresses,
      caLifetimeMs: o.caLifetimeMs,
      servingLifetimeMs: o.certLifetimeMs,
      logger: log,
    });
    let material = await store.ensure();
    patcher = createCaBundlePatcher({
      kc: o.kc,
      name: o.webhookConfigName,
      labelSelector: o.webhookConfigLabel,
      logger: log,
    });
    await patcher.start();
    closers.push(() => patcher?.stop());
    await patcher.setBundle(material.caBundle);
    bundle = material.caBundle;
    tls = material;
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      const delay = Math.max(1000, Math.min(material.renewAt.getTime() - Date.now(), 2 ** 31 - 1));
      timer = setTimeout(() => {
        void rotate();
      }, delay);
    };
    const rotate = async () => {
      try {
        const next = await store.ensure();
        if (next.caBundle !== material.caBundle) {
          await patcher?.setBundle(next.caBundle);
          bundle = next.caBundle;
          // Let the API server see the new CA before serving under it.
          await new Promise((r) => setTimeout(r, 2000));
        }
        material = next;
        onRotate(next);
        log.info({ renewAt: next.renewAt.toISOString() }, 'serving certificate rotated');
      } catch (e) {
        log.error({ error: errorMessage(e) }, 'certificate rotation failed; retrying');
        material = { ...material, renewAt: new Date(Date.now() + 5000) };
      }
      schedule();
    };
    schedule();
    closers.push(() => {
      clearTimeout(timer);
    });
  }

  const server = await startWebhookServer(
    {
      handler,
      tls,
      registry,
      metrics: createWebhookMetrics(registry),
      logger: log,
      bodyLimitBytes: o.bodyLimitBytes,
      ready: () => namespaces.notReady(),
    },
    o.port,
    o.host,
  );
  sink.server = server;
  closers.push(() => server.close());
  log.info({ port: server.port, tls: o.tlsCertFile ? 'files' : 'self-managed' }, 'webhook serving');

  return {
    port: server.port,
    server,
    caBundle: () => bundle,
    async close() {
      for (const c of closers.reverse()) {
        try {
          await c();
        } catch (e) {
          log.error({ error: errorMessage(e) }, 'close step failed');
        }
      }
    },
  };
}

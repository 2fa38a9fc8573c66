/**
 * The cluster tier's test helper: a real cluster (lib/local-cluster: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok's 3 simulated nodes) for mocha suites. Pods are
 * scheduled, get IPs and turn Running and Ready; Deployments, Jobs, EndpointSlices, ServiceAccounts
 * and namespace deletion work as on a real cluster; only containers do not run.
 *
 * One cluster is shared by every suite of a mocha process (a start costs a few seconds of the 2
 * cores), and each suite gets a fresh namespace, created in `before` (once its `default`
 * ServiceAccount exists, so a pod can be created at once) and deleted in `after`. The shared
 * cluster is stopped by the root hook in e2e/cluster/hooks.ts (and killed on exit as a fallback).
 * Suites that restart the API server, or create cluster-scoped objects that would change what
 * other suites see (webhook configurations without a namespaceSelector, CRDs), ask for
 * `{ dedicated: true }`: their own cluster, stopped in their `after`.
 *
 *   const env = useLocalCluster();
 *   it('works', async () => {
 *     const core = env.kc.makeApiClient(CoreV1Api);
 *     await core.createNamespacedConfigMap({ namespace: env.namespace, body: { ... } });
 *   });
 *
 * Leftovers of a killed run (clusters under $TMPDIR/istio-lite-e2e whose mocha is dead) are
 * stopped and removed when the next run starts its first cluster.
 * ISTIO_LITE_E2E_STATE_DIR=DIR uses (and leaves running) the cluster in DIR, e.g. one started with
 * `istio-lite local up --state-dir DIR`, to iterate on a suite without the start-up cost.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { isNotFound, loadKubeConfig } from '../../lib/kube/client.ts';
import { down, up, type LocalCluster } from '../../lib/local-cluster/cluster.ts';
import { isAlive } from '../../lib/local-cluster/processes.ts';
import { eventually } from './eventually.ts';

export interface UseLocalClusterOptions {
  /** Own cluster for this suite instead of the shared one (default false). */
  readonly dedicated?: boolean;
  /** Prefix of the suite's namespace name (default `e2e`); a random suffix is added. */
  readonly namespacePrefix?: string;
  /** Labels of the suite's namespace (e.g. `{ 'istio-injection': 'enabled' }`). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /**
   * A dedicated cluster with etcd and kube-apiserver only (no controllers, scheduler or nodes),
   * for a suite that must see the API server alone.
   */
  readonly bare?: boolean;
}

/** What a suite gets; every field throws if read before the suite's `before` hook ran. */
export interface TestCluster {
  /** Admin (system:masters) KubeConfig for the cluster. */
  readonly kc: KubeConfig;
  /** Path of the admin kubeconfig file. */
  readonly kubeconfig: string;
  /** `https://127.0.0.1:PORT`. */
  readonly server: string;
  /** The cluster's state folder (for lib/local-cluster's restartApiServer and friends). */
  readonly stateDir: string;
  /** This suite's fresh namespace. */
  readonly namespace: string;
  readonly cluster: LocalCluster;
}

/** Where this process's test clusters live: `$TMPDIR/istio-lite-e2e/<pid>-<n>`. */
export const testClustersRoot = join(tmpdir(), 'istio-lite-e2e');

let counter = 0;
let swept = false;
let shared: Promise<LocalCluster> | undefined;
/** State folders this process started and has not stopped yet, killed on exit as a last resort. */
const running = new Map<string, LocalCluster>();

/** The binaries are built before the tier runs (e2e/cluster/hooks.ts), so a start is seconds. */
const startTimeoutMs = 120_000;

/** Stops clusters left by earlier runs whose mocha process is gone. */
async function sweepStale(): Promise<void> {
  if (swept) return;
  swept = true;
  if (!existsSync(testClustersRoot)) return;
  for (const entry of readdirSync(testClustersRoot)) {
    const owner = Number.parseInt(entry.split('-')[0] ?? '', 10);
    if (Number.isInteger(owner) && owner !== process.pid && !isAlive(owner)) {
      await down(join(testClustersRoot, entry));
      rmSync(join(testClustersRoot, entry), { recursive: true, force: true });
    }
  }
}

/** Starts a cluster in a new folder of this process; it is stopped by `stopTestCluster`. */
export async function startTestCluster(options: { bare?: boolean } = {}): Promise<LocalCluster> {
  await sweepStale();
  const dir = join(testClustersRoot, `${process.pid}-${++counter}`);
  const cluster = await up(dir, options.bare === true ? { nodes: 0 } : {});
  running.set(cluster.stateDir, cluster);
  return cluster;
}

export async function stopTestCluster(cluster: LocalCluster): Promise<void> {
  await down(cluster.stateDir);
  running.delete(cluster.stateDir);
}

/** The cluster shared by this mocha process (started on first use). */
export function sharedCluster(): Promise<LocalCluster> {
  const reuse = process.env['ISTIO_LITE_E2E_STATE_DIR'];
  shared ??= reuse !== undefined && reuse !== '' ? up(reuse) : startTestCluster();
  return shared;
}

/** Stops the shared cluster if this process started it (root `afterAll` hook). */
export async function stopSharedCluster(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s === undefined) return;
  const cluster = await s.catch(() => undefined);
  if (cluster !== undefined && running.has(cluster.stateDir)) await stopTestCluster(cluster);
}

/** Synchronous last resort when `after` hooks never ran (mocha --bail, Ctrl-C, an uncaught error). */
function killRunning(): void {
  for (const c of running.values()) {
    for (const pid of [...c.components.map((x) => x.pid), c.apiServer.pid, c.etcd.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(c.stateDir, { recursive: true, force: true });
  }
  running.clear();
}

process.on('exit', killRunning);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killRunning();
    process.kill(process.pid, sig); // the default action, now that this listener is gone
  });
}

export function useLocalCluster(options: UseLocalClusterOptions = {}): TestCluster {
  let ready: { cluster: LocalCluster; kc: KubeConfig; namespace: string } | undefined;
  const get = () => {
    if (ready === undefined) {
      throw new IstioLiteError(
        ErrorCode.Internal,
        'useLocalCluster(): read in describe() or before the before hook ran; read it inside it()/before()',
      );
    }
    return ready;
  };

  before(async function () {
    this.timeout(startTimeoutMs);
    const own = options.dedicated === true || options.bare === true;
    const cluster = own
      ? await startTestCluster({ bare: options.bare === true })
      : await sharedCluster();
    const kc = loadKubeConfig(cluster.kubeconfig);
    const namespace = `${options.namespacePrefix ?? 'e2e'}-${randomBytes(3).toString('hex')}`;
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({
      body: { metadata: { name: namespace, labels: { ...options.namespaceLabels } } },
    });
    if (cluster.nodes > 0) {
      await eventually(() => core.readNamespacedServiceAccount({ name: 'default', namespace }), {
        timeoutMs: 30_000,
      });
    }
    ready = { cluster, kc, namespace };
  });

  after(async function () {
    this.timeout(startTimeoutMs);
    const r = ready;
    ready = undefined;
    if (r === undefined) return;
    if (options.dedicated === true || options.bare === true) {
      await stopTestCluster(r.cluster);
      return;
    }
    // The namespace controller empties and removes it in the background.
    await r.kc
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: r.namespace })
      .catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
  });

  return {
    get kc() {
      return get().kc;
    },
    get kubeconfig() {
      return get().cluster.kubeconfig;
    },
    get server() {
      return get().cluster.server;
    },
    get stateDir() {
      return get().cluster.stateDir;
    },
    get namespace() {
      return get().namespace;
    },
    get cluster() {
      return get().cluster;
    },
  };
}

/**
 * A real Kubernetes cluster on loopback without Docker, for `istio-lite local`, `npm start` and the
 * cluster test tier: etcd, kube-apiserver, kube-controller-manager and kube-scheduler as detached
 * processes (envtest-style), and kwok simulating N nodes (default 3), so Deployments make pods,
 * pods are scheduled, get an IP from their node's podCIDR and turn Running and Ready, Jobs
 * complete, EndpointSlices and ServiceAccounts come from their controllers. Only containers do
 * not run. `nodes: 0` starts etcd and kube-apiserver alone (no controllers).
 *
 * - `up(dir)` starts them on free 127.0.0.1 ports with a fresh PKI, writes DIR/kubeconfig, waits
 *   for /readyz and returns, leaving them running (pids and ports in DIR/state.json). On a folder
 *   whose cluster is already up and ready it returns that cluster; a crashed run's leftovers (dead
 *   or half-started processes, stale files) are stopped and removed first.
 * - `down(dir)` stops exactly this folder's processes (SIGTERM, then SIGKILL) and removes its files.
 * - Any number of clusters run at once, one per folder.
 * Authentication is the admin client certificate (group system:masters) in the kubeconfig;
 * authorization is RBAC; ServiceAccount tokens can be minted with the TokenRequest API.
 */
import { freePorts } from '../free-ports.ts';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { apiServerArgs, apiServerMarker, etcdArgs, etcdClientUrl, etcdMarker } from './args.ts';
import { ensureBinary, helmPath, wantedVersion, type BinaryOptions } from './binaries.ts';
import { generateLocalPki } from './certs.ts';
import { startSimulation } from './components.ts';
import { loadKubeConfig } from '../kube/client.ts';
import { kubeconfigYaml } from './kubeconfig.ts';
import { withLock } from './lock.ts';
import { cleanup } from './teardown.ts';
import { isOurProcess, spawnDetached, stopProcess } from './processes.ts';
import { PortInUseError, probeOnce, waitUntilReady, type Probe } from './readiness.ts';
import {
  clusterPaths,
  readState,
  writeState,
  type ApiServerRecord,
  type ClusterPaths,
  type ClusterState,
  type ComponentName,
  type EtcdRecord,
} from './state.ts';

export { helmPath };

/** A running local cluster, as `up` returns it. */
export interface LocalCluster {
  readonly stateDir: string;
  readonly kubeconfig: string;
  /** `https://127.0.0.1:PORT`. */
  readonly server: string;
  readonly paths: ClusterPaths;
  readonly etcd: { readonly pid: number; readonly url: string };
  readonly apiServer: { readonly pid: number; readonly port: number };
  /** kube-controller-manager, kube-scheduler and kwok (none when `nodes` is 0). */
  readonly components: readonly {
    readonly name: ComponentName;
    readonly pid: number;
    readonly port: number;
  }[];
  /** How many nodes kwok simulates (0: a bare API server). */
  readonly nodes: number;
  /** Whether this call started it (false: it was already up). */
  readonly started: boolean;
  /** Milliseconds this call took. */
  readonly elapsedMs: number;
}

export interface UpOptions extends BinaryOptions {
  /** How long to wait for /readyz, and then for the components and nodes (default 90 s each). */
  readonly readyTimeoutMs?: number;
  /**
   * Nodes kwok simulates (default 3). 0: etcd and kube-apiserver only, no controllers, scheduler
   * or nodes. A cluster already up is returned as it is, whatever its number of nodes.
   */
  readonly nodes?: number;
  /**
   * Client QPS of kube-controller-manager and kube-scheduler towards the API server (default:
   * theirs, 20 and 50); a scale test raises it so the mesh, not them, sets the pace.
   */
  readonly componentQps?: number;
  /** Pods kwok moves through their lifecycle at once (default 4). */
  readonly kwokParallelism?: number;
  /** Lines about what is happening (default: nothing; the CLI prints them). */
  readonly log?: (line: string) => void;
}

const attempts = 3;

export async function up(stateDir: string, options: UpOptions = {}): Promise<LocalCluster> {
  const t0 = Date.now();
  const paths = clusterPaths(stateDir);
  const log = options.log ?? (() => undefined);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  return withLock(paths.lock, { timeoutMs: 10 * 60_000 }, async () => {
    const existing = readState(paths);
    if (existing !== undefined && (await isHealthy(paths, existing))) {
      log(`local cluster in ${paths.dir} is already up`);
      return view(paths, existing, false, t0);
    }
    if (await cleanup(paths, existing)) log(`cleaned up a stale cluster in ${paths.dir}`);
    const nodes = options.nodes ?? 3;
    const bins: Binaries = {
      etcd: await ensureBinary('etcd', options),
      apiServer: await ensureBinary('kube-apiserver', options),
      components:
        nodes > 0
          ? {
              'kube-controller-manager': await ensureBinary('kube-controller-manager', options),
              'kube-scheduler': await ensureBinary('kube-scheduler', options),
              kwok: await ensureBinary('kwok', options),
            }
          : undefined,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const state = await start(paths, bins, { ...options, nodes });
        const what = state.nodes > 0 ? ` (${state.nodes} simulated nodes)` : ' (API server only)';
        log(`local cluster up in ${Date.now() - t0} ms: ${serverUrl(state)}${what}`);
        return view(paths, state, true, t0);
      } catch (e) {
        await cleanup(paths, readState(paths));
        if (!(e instanceof PortInUseError) || attempt >= attempts) throw e;
        log(`a port was taken while starting (attempt ${attempt}); retrying with others`);
      }
    }
  });
}

/**
 * Stops this folder's cluster and removes its files; true when there was something to stop or
 * remove. Processes are found by state.json and, after a crash, by their command lines.
 */
export async function down(stateDir: string): Promise<boolean> {
  const paths = clusterPaths(stateDir);
  if (!existsSync(paths.dir)) return false;
  const removed = await withLock(paths.lock, { timeoutMs: 10 * 60_000 }, () =>
    cleanup(paths, readState(paths)),
  );
  try {
    rmdirSync(paths.dir); // only when empty: the folder may hold the user's own files too
  } catch {
    // not empty, or gone
  }
  return removed;
}

/** `KUBECONFIG=DIR/kubeconfig` for a cluster that is up; throws when there is none. */
export function env(stateDir: string): string {
  const paths = clusterPaths(stateDir);
  const state = readState(paths);
  if (state === undefined || !state.ready) {
    throw new IstioLiteError(
      ErrorCode.External,
      `no local cluster in ${paths.dir} (run: istio-lite local up --state-dir ${stateDir})`,
    );
  }
  if (!processesAlive(state)) {
    throw new IstioLiteError(
      ErrorCode.External,
      `the local cluster in ${paths.dir} is not running any more (run: istio-lite local up --state-dir ${stateDir})`,
    );
  }
  return `KUBECONFIG=${paths.kubeconfig}\n`;
}

/** The cluster in DIR if it is up and answers /readyz, else undefined. */
export async function status(stateDir: string): Promise<LocalCluster | undefined> {
  const paths = clusterPaths(stateDir);
  const state = readState(paths);
  if (state === undefined || !(await isHealthy(paths, state))) return undefined;
  return view(paths, state, false, Date.now());
}

/**
 * Stops kube-apiserver and starts it again with the same command line and port, keeping etcd and
 * its data: for tests of what clients do when the API server goes away and comes back.
 * `downtimeMs` is how long it stays down.
 */
export async function restartApiServer(stateDir: string, downtimeMs = 0): Promise<void> {
  const paths = clusterPaths(stateDir);
  const state = readState(paths);
  if (state?.apiServer === null || state === undefined || !state.ready) {
    throw new IstioLiteError(ErrorCode.External, `no local cluster in ${paths.dir}`);
  }
  const api = state.apiServer;
  if (isOurProcess(api.pid, api.marker)) await stopProcess(api.pid, 5000);
  if (downtimeMs > 0) await new Promise((r) => setTimeout(r, downtimeMs));
  const child = spawnDetached(api.bin, api.args, paths.apiServerLog);
  if (child.pid === undefined)
    throw new IstioLiteError(ErrorCode.External, `cannot start ${api.bin}`);
  writeState(paths, { ...state, apiServer: { ...api, pid: child.pid } });
  await waitUntilReady({
    name: 'kube-apiserver',
    probe: readyzProbe(paths, api.port),
    child,
    logPath: paths.apiServerLog,
    timeoutMs: 90_000,
  });
}

interface Binaries {
  readonly etcd: string;
  readonly apiServer: string;
  readonly components: Readonly<Record<ComponentName, string>> | undefined;
}

async function start(
  paths: ClusterPaths,
  bins: Binaries,
  options: UpOptions & { readonly nodes: number },
): Promise<ClusterState> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const etcdBin = bins.etcd;
  const apiBin = bins.apiServer;
  mkdirSync(paths.pki, { recursive: true, mode: 0o700 });
  mkdirSync(paths.etcdData, { recursive: true, mode: 0o700 });
  const pki = await generateLocalPki();
  const files: [string, string][] = [
    [paths.caCert, pki.caCert],
    [paths.caKey, pki.caKey],
    [paths.serverCert, pki.serverCert],
    [paths.serverKey, pki.serverKey],
    [paths.adminCert, pki.adminCert],
    [paths.adminKey, pki.adminKey],
    [paths.serviceAccountKey, pki.serviceAccountKey],
    [paths.serviceAccountPub, pki.serviceAccountPub],
  ];
  for (const [p, text] of files) writeFileSync(p, text, { mode: 0o600 });

  const [clientPort = 0, peerPort = 0, apiPort = 0] = await freePorts(3);
  const ports = { clientPort, peerPort };
  const createdAt = new Date().toISOString();

  // Both start at once: kube-apiserver retries etcd until it answers, which saves etcd's start time.
  const eArgs = etcdArgs(paths, ports);
  const etcdChild = spawnDetached(etcdBin, eArgs, paths.etcdLog);
  const etcd: EtcdRecord = {
    pid: pidOf(etcdChild.pid, etcdBin),
    bin: etcdBin,
    args: eArgs,
    marker: etcdMarker(paths),
    ...ports,
  };
  const none = { components: [], nodes: 0 };
  writeState(paths, { version: 1, createdAt, ready: false, etcd, apiServer: null, ...none });

  const aArgs = apiServerArgs(paths, {
    port: apiPort,
    etcdUrl: etcdClientUrl(ports),
    controllers: bins.components !== undefined,
  });
  const apiChild = spawnDetached(apiBin, aArgs, paths.apiServerLog);
  const apiServer: ApiServerRecord = {
    pid: pidOf(apiChild.pid, apiBin),
    bin: apiBin,
    args: aArgs,
    marker: apiServerMarker(paths),
    port: apiPort,
  };
  writeState(paths, { version: 1, createdAt, ready: false, etcd, apiServer, ...none });
  writeFileSync(
    paths.kubeconfig,
    kubeconfigYaml({
      server: `https://127.0.0.1:${apiPort}`,
      caCert: pki.caCert,
      clientCert: pki.adminCert,
      clientKey: pki.adminKey,
    }),
    { mode: 0o600 },
  );

  await waitUntilReady({
    name: 'etcd',
    probe: { url: `${etcdClientUrl(ports)}/health` },
    child: etcdChild,
    logPath: paths.etcdLog,
    timeoutMs: 30_000,
  });
  await waitUntilReady({
    name: 'kube-apiserver',
    probe: readyzProbe(paths, apiPort),
    child: apiChild,
    logPath: paths.apiServerLog,
    timeoutMs: readyTimeoutMs,
  });
  let state: ClusterState = { version: 1, createdAt, ready: false, etcd, apiServer, ...none };
  if (bins.components !== undefined) {
    state = await startSimulation(
      paths,
      state,
      pki,
      loadKubeConfig(paths.kubeconfig),
      `https://127.0.0.1:${apiPort}`,
      {
        nodes: options.nodes,
        kubeVersion: wantedVersion('kube-apiserver', options.env ?? process.env),
        binaries: bins.components,
        timeoutMs: readyTimeoutMs,
        ...(options.componentQps === undefined ? {} : { qps: options.componentQps }),
        ...(options.kwokParallelism === undefined
          ? {}
          : { kwokParallelism: options.kwokParallelism }),
      },
    );
  }
  state = { ...state, ready: true };
  writeState(paths, state);
  return state;
}

function pidOf(pid: number | undefined, bin: string): number {
  if (pid === undefined) throw new IstioLiteError(ErrorCode.External, `cannot start ${bin}`);
  return pid;
}

function readyzProbe(paths: ClusterPaths, port: number): Probe {
  return {
    url: `https://127.0.0.1:${port}/readyz`,
    tls: {
      ca: readText(paths.caCert),
      cert: readText(paths.adminCert),
      key: readText(paths.adminKey),
    },
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the probe then fails its TLS handshake, which reads as "not ready"
  }
}

function serverUrl(state: ClusterState): string {
  return `https://127.0.0.1:${state.apiServer?.port ?? 0}`;
}

function processesAlive(state: ClusterState): boolean {
  return (
    isOurProcess(state.etcd.pid, state.etcd.marker) &&
    state.apiServer !== null &&
    isOurProcess(state.apiServer.pid, state.apiServer.marker) &&
    state.components.every((c) => isOurProcess(c.pid, c.marker))
  );
}

async function isHealthy(paths: ClusterPaths, state: ClusterState): Promise<boolean> {
  if (!state.ready || state.apiServer === null || !processesAlive(state)) return false;
  return (await probeOnce(readyzProbe(paths, state.apiServer.port))) === 200;
}

function view(
  paths: ClusterPaths,
  state: ClusterState,
  started: boolean,
  t0: number,
): LocalCluster {
  const api = state.apiServer;
  if (api === null)
    throw new IstioLiteError(ErrorCode.Internal, 'cluster state without kube-apiserver');
  return {
    stateDir: paths.dir,
    kubeconfig: paths.kubeconfig,
    server: serverUrl(state),
    paths,
    etcd: { pid: state.etcd.pid, url: etcdClientUrl(state.etcd) },
    apiServer: { pid: api.pid, port: api.port },
    components: state.components.map((c) => ({ name: c.name, pid: c.pid, port: c.port })),
    nodes: state.nodes,
    started,
    elapsedMs: Date.now() - t0,
  };
}

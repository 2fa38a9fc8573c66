/**
 * Turns a local API server into a cluster: starts kube-controller-manager, kube-scheduler and kwok
 * detached (recorded in state.json after each start, so a failed `up` and `down` stop them),
 * registers the nodes kwok simulates, and waits until all three are healthy, every node is ready
 * for pods and the `default` ServiceAccount exists (the ServiceAccount admission plugin refuses a
 * pod without one).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { freePorts } from '../free-ports.ts';
import {
  componentMarker,
  controllerManagerArgs,
  kwokArgs,
  kwokEnv,
  schedulerArgs,
  schedulerConfigYaml,
  type ComponentArgsOptions,
} from './component-args.ts';
import type { LocalPki } from './certs.ts';
import { kubeconfigYaml } from './kubeconfig.ts';
import { kwokConfigYaml } from './kwok-config.ts';
import { createNodes, waitForNodes } from './nodes.ts';
import { spawnDetached } from './processes.ts';
import { waitUntilReady, type Probe } from './readiness.ts';
import {
  componentPaths,
  writeState,
  type ClusterPaths,
  type ClusterState,
  type ComponentName,
  type ComponentRecord,
} from './state.ts';

export interface SimulationOptions {
  /** How many nodes kwok simulates. */
  readonly nodes: number;
  /** Client QPS of the controller manager and the scheduler (default: theirs, 20 and 50). */
  readonly qps?: number;
  /** Pods whose lifecycle stage kwok plays at once (default 4). */
  readonly kwokParallelism?: number;
  /** What the nodes report as their kubelet's version. */
  readonly kubeVersion: string;
  readonly binaries: Readonly<Record<ComponentName, string>>;
  readonly timeoutMs: number;
}

type Identity = 'controllerManager' | 'scheduler' | 'kwok';
const identityOf: Readonly<Record<ComponentName, Identity>> = {
  'kube-controller-manager': 'controllerManager',
  'kube-scheduler': 'scheduler',
  kwok: 'kwok',
};

function writeFiles(
  paths: ClusterPaths,
  pki: LocalPki,
  server: string,
  o: SimulationOptions,
): void {
  mkdirSync(paths.components, { recursive: true, mode: 0o700 });
  writeFileSync(paths.componentServingCert, pki.componentServing.cert, { mode: 0o600 });
  writeFileSync(paths.componentServingKey, pki.componentServing.key, { mode: 0o600 });
  for (const [name, identity] of Object.entries(identityOf) as [ComponentName, Identity][]) {
    const pair = pki[identity];
    writeFileSync(
      componentPaths(paths, name).kubeconfig,
      kubeconfigYaml({
        server,
        caCert: pki.caCert,
        clientCert: pair.cert,
        clientKey: pair.key,
        user: name,
      }),
      { mode: 0o600 },
    );
  }
  const args: ComponentArgsOptions = { port: 0, ...(o.qps === undefined ? {} : { qps: o.qps }) };
  writeFileSync(componentPaths(paths, 'kube-scheduler').config, schedulerConfigYaml(paths, args));
  writeFileSync(
    componentPaths(paths, 'kwok').config,
    kwokConfigYaml({
      kubeletVersion: o.kubeVersion,
      ...(o.kwokParallelism === undefined ? {} : { podParallelism: o.kwokParallelism }),
    }),
  );
}

function healthProbe(name: ComponentName, port: number, pki: LocalPki): Probe {
  if (name === 'kwok') return { url: `http://127.0.0.1:${port}/healthz` };
  // /healthz is open to anyone on these two (--authorization-always-allow-paths' default).
  return {
    url: `https://127.0.0.1:${port}/healthz`,
    tls: { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey },
  };
}

/**
 * Starts the three components and the nodes; returns the state with them recorded (not yet
 * marked ready). On failure what it started stays recorded, for the caller's cleanup.
 */
export async function startSimulation(
  paths: ClusterPaths,
  state: ClusterState,
  pki: LocalPki,
  kc: KubeConfig,
  server: string,
  o: SimulationOptions,
): Promise<ClusterState> {
  writeFiles(paths, pki, server, o);
  const [cmPort = 0, schedPort = 0, kwokPort = 0] = await freePorts(3);
  const qps = o.qps === undefined ? {} : { qps: o.qps };
  const argsOf: Readonly<Record<ComponentName, string[]>> = {
    'kube-controller-manager': controllerManagerArgs(paths, { port: cmPort, ...qps }),
    'kube-scheduler': schedulerArgs(paths, { port: schedPort, ...qps }),
    kwok: kwokArgs(paths, { port: kwokPort }),
  };
  const portOf = { 'kube-controller-manager': cmPort, 'kube-scheduler': schedPort, kwok: kwokPort };
  let current = state;
  const waits: Promise<void>[] = [];
  for (const name of Object.keys(argsOf) as ComponentName[]) {
    const bin = o.binaries[name];
    const args = argsOf[name];
    const log = componentPaths(paths, name).log;
    const child = spawnDetached(
      bin,
      args,
      log,
      name === 'kwok' ? kwokEnv(paths, process.env) : process.env,
    );
    if (child.pid === undefined)
      throw new IstioLiteError(ErrorCode.External, `cannot start ${bin}`);
    const rec: ComponentRecord = {
      name,
      pid: child.pid,
      bin,
      args,
      marker: componentMarker(paths, name),
      port: portOf[name],
    };
    current = { ...current, components: [...current.components, rec] };
    writeState(paths, current);
    waits.push(
      waitUntilReady({
        name,
        probe: healthProbe(name, rec.port, pki),
        child,
        logPath: log,
        timeoutMs: o.timeoutMs,
      }),
    );
  }
  current = { ...current, nodes: o.nodes };
  writeState(paths, current);
  // Every wait is awaited (none left to reject unheard), the first failure is thrown.
  const results = await Promise.allSettled([createNodes(kc, o.nodes), ...waits]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  await waitForNodes(kc, o.nodes, o.timeoutMs);
  await waitForDefaultServiceAccount(kc, o.timeoutMs);
  return current;
}

async function waitForDefaultServiceAccount(kc: KubeConfig, timeoutMs: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return;
    } catch (e) {
      if (Date.now() > deadline) {
        throw new IstioLiteError(
          ErrorCode.External,
          `kube-controller-manager created no ServiceAccount default/default in ${timeoutMs} ms; see kube-controller-manager.log`,
          { cause: e },
        );
      }
    }
    await sleep(100);
  }
}

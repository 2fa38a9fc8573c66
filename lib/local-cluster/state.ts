/**
 * A local cluster's state folder: where each file lives, and `state.json`, which records the pids,
 * ports and command lines of etcd, kube-apiserver and the simulated cluster's components
 * (kube-controller-manager, kube-scheduler, kwok) so `down` (from any process) stops exactly
 * those. state.json is read back as untrusted input: anything malformed reads as "no state".
 *
 * Layout of DIR:
 *   state.json          this record (written after each process starts; `ready` once /readyz is ok)
 *   kubeconfig          admin kubeconfig (certificates inline; context `istio-lite-local`)
 *   pki/                ca.crt ca.key apiserver.crt apiserver.key admin.crt admin.key sa.key sa.pub
 *                       components.crt components.key (kube-controller-manager's, kube-scheduler's)
 *   components/         kubeconfigs of kube-controller-manager, kube-scheduler and kwok, the
 *                       scheduler's and kwok's configuration files, kwok's work folder
 *   etcd/               etcd's data (mode 0700)
 *   etcd.log, kube-apiserver.log, kube-controller-manager.log, kube-scheduler.log, kwok.log
 *   .lock               held while `up` or `down` runs
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isObject } from '../json.ts';

export interface ClusterPaths {
  readonly dir: string;
  readonly state: string;
  readonly kubeconfig: string;
  readonly pki: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  readonly etcdData: string;
  readonly etcdLog: string;
  readonly apiServerLog: string;
  readonly componentServingCert: string;
  readonly componentServingKey: string;
  readonly components: string;
  readonly lock: string;
}

/** The processes that make a bare API server a cluster. */
export const componentNames = ['kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type ComponentName = (typeof componentNames)[number];

/** DIR/components/NAME.kubeconfig, DIR/NAME.log and friends. */
export function componentPaths(
  paths: ClusterPaths,
  name: ComponentName,
): { readonly kubeconfig: string; readonly config: string; readonly log: string } {
  return {
    kubeconfig: join(paths.components, `${name}.kubeconfig`),
    config: join(paths.components, `${name}.yaml`),
    log: join(paths.dir, `${name}.log`),
  };
}

export function clusterPaths(stateDir: string): ClusterPaths {
  const dir = resolve(stateDir);
  const pki = join(dir, 'pki');
  return {
    dir,
    state: join(dir, 'state.json'),
    kubeconfig: join(dir, 'kubeconfig'),
    pki,
    caCert: join(pki, 'ca.crt'),
    caKey: join(pki, 'ca.key'),
    serverCert: join(pki, 'apiserver.crt'),
    serverKey: join(pki, 'apiserver.key'),
    adminCert: join(pki, 'admin.crt'),
    adminKey: join(pki, 'admin.key'),
    serviceAccountKey: join(pki, 'sa.key'),
    serviceAccountPub: join(pki, 'sa.pub'),
    etcdData: join(dir, 'etcd'),
    etcdLog: join(dir, 'etcd.log'),
    apiServerLog: join(dir, 'kube-apiserver.log'),
    componentServingCert: join(pki, 'components.crt'),
    componentServingKey: join(pki, 'components.key'),
    components: join(dir, 'components'),
    lock: join(dir, '.lock'),
  };
}

/** Entries of DIR that belong to a cluster; `down` removes these and nothing else. */
export const ownedEntries = [
  'state.json',
  'kubeconfig',
  'pki',
  'etcd',
  'etcd.log',
  'kube-apiserver.log',
  'components',
  ...componentNames.map((n) => `${n}.log`),
] as const;

export interface ProcessRecord {
  readonly pid: number;
  readonly bin: string;
  readonly args: readonly string[];
  /** An argument only this cluster's process has (it names DIR): how a pid is recognised as ours. */
  readonly marker: string;
}

export interface EtcdRecord extends ProcessRecord {
  readonly clientPort: number;
  readonly peerPort: number;
}

export interface ApiServerRecord extends ProcessRecord {
  readonly port: number;
}

/** kube-controller-manager, kube-scheduler or kwok: where its health endpoint listens. */
export interface ComponentRecord extends ProcessRecord {
  readonly name: ComponentName;
  readonly port: number;
}

export interface ClusterState {
  readonly version: 1;
  readonly createdAt: string;
  /**
   * True once /readyz answered 200 and, in a simulated cluster, its components are healthy and its
   * nodes Ready; false while `up` is still starting it.
   */
  readonly ready: boolean;
  readonly etcd: EtcdRecord;
  readonly apiServer: ApiServerRecord | null;
  /** Those started so far (none in a bare API server: `up(dir, { simulate: false })`). */
  readonly components: readonly ComponentRecord[];
  /** How many nodes kwok simulates (0 in a bare API server). */
  readonly nodes: number;
}

export function writeState(paths: ClusterPaths, state: ClusterState): void {
  mkdirSync(paths.dir, { recursive: true });
  const tmp = `${paths.state}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, paths.state);
}

/** The state in DIR; undefined when there is none or it is not a state this code wrote. */
export function readState(paths: ClusterPaths): ClusterState | undefined {
  let text: string;
  try {
    text = readFileSync(paths.state, 'utf8');
  } catch {
    return undefined;
  }
  return parseState(text);
}

export function parseState(text: string): ClusterState | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(v) || v['version'] !== 1 || typeof v['ready'] !== 'boolean') return undefined;
  const e = v['etcd'];
  const etcd = parseRecord(e);
  if (etcd === undefined || !isObject(e) || !isPort(e['clientPort']) || !isPort(e['peerPort'])) {
    return undefined;
  }
  const a = v['apiServer'];
  let apiServer: ApiServerRecord | null = null;
  if (a !== null) {
    const rec = parseRecord(a);
    if (rec === undefined || !isObject(a) || !isPort(a['port'])) return undefined;
    apiServer = { ...rec, port: a['port'] };
  }
  const c = v['components'] ?? [];
  if (!Array.isArray(c)) return undefined;
  const components: ComponentRecord[] = [];
  for (const x of c) {
    const rec = parseRecord(x);
    if (rec === undefined || !isObject(x) || !isPort(x['port'])) return undefined;
    const name = componentNames.find((n) => n === x['name']);
    if (name === undefined) return undefined;
    components.push({ ...rec, name, port: x['port'] });
  }
  const nodes = v['nodes'] ?? 0;
  if (typeof nodes !== 'number' || !Number.isInteger(nodes) || nodes < 0) return undefined;
  return {
    version: 1,
    createdAt: typeof v['createdAt'] === 'string' ? v['createdAt'] : '',
    ready: v['ready'],
    etcd: { ...etcd, clientPort: e['clientPort'], peerPort: e['peerPort'] },
    apiServer,
    components,
    nodes,
  };
}

function isPort(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0 && x < 65536;
}

function parseRecord(v: unknown): ProcessRecord | undefined {
  if (!isObject(v)) return undefined;
  const { pid, bin, args, marker } = v;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (typeof bin !== 'string' || typeof marker !== 'string' || marker === '') return undefined;
  if (!Array.isArray(args)) return undefined;
  const strings = args.filter((x) => typeof x === 'string');
  if (strings.length !== args.length) return undefined;
  return { pid, bin, args: strings, marker };
}

/**
 * Command lines (and the scheduler's configuration file) of what turns the local API server into a
 * cluster: kube-controller-manager, kube-scheduler and kwok. Each serves its health endpoint on a
 * free 127.0.0.1 port; each is recognised by a marker argument naming a file in the state folder
 * (see processes.ts). Flags are `--name=value` so the marker is one exact argv entry.
 *
 * Facts these rely on (flag names, the scheduler's configuration API, kwok's flags) are in
 * docs/reference/simulated-cluster.md.
 */
import { stringify } from 'yaml';
import { serviceCidr } from './args.ts';

/** The annotation (value `fake`) of the nodes kwok simulates. */
export const kwokNodeAnnotation = 'kwok.x-k8s.io/node';
import { componentPaths, type ClusterPaths, type ComponentName } from './state.ts';

/**
 * Pods' addresses: each node gets a /22 of it (1,022 pods), so 256 nodes fit. Clear of the
 * addresses the cluster tier's tests make up for endpoints (10.244.x, 10.200.x, …).
 */
export const clusterCidr = '10.112.0.0/14';
export const nodeCidrMaskSize = 22;

export interface ComponentArgsOptions {
  /** The health port. */
  readonly port: number;
  /**
   * Client-side rate limit towards the API server (requests per second; burst twice that). The
   * controller manager's default is 20 and the scheduler's 50, which makes the controller
   * manager, not the mesh, the bottleneck of a scale test; kwok is never limited.
   */
  readonly qps?: number;
}

/** The argument that identifies this cluster's `name` among running processes. */
export function componentMarker(paths: ClusterPaths, name: ComponentName): string {
  const p = componentPaths(paths, name);
  return name === 'kube-controller-manager'
    ? `--kubeconfig=${p.kubeconfig}`
    : `--config=${p.config}`;
}

function serving(paths: ClusterPaths, port: number): string[] {
  return [
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${paths.componentServingCert}`,
    `--tls-private-key-file=${paths.componentServingKey}`,
  ];
}

export function controllerManagerArgs(paths: ClusterPaths, o: ComponentArgsOptions): string[] {
  return [
    componentMarker(paths, 'kube-controller-manager'),
    ...serving(paths, o.port),
    // One instance per cluster: no lease to take (or to wait out after a crash).
    '--leader-elect=false',
    // Each controller as its own ServiceAccount, with the roles Kubernetes bootstraps for it.
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${paths.serviceAccountKey}`,
    `--root-ca-file=${paths.caCert}`,
    `--cluster-signing-cert-file=${paths.caCert}`,
    `--cluster-signing-key-file=${paths.caKey}`,
    '--allocate-node-cidrs=true',
    `--cluster-cidr=${clusterCidr}`,
    `--node-cidr-mask-size=${nodeCidrMaskSize}`,
    `--service-cluster-ip-range=${serviceCidr}`,
    ...(o.qps === undefined ? [] : [`--kube-api-qps=${o.qps}`, `--kube-api-burst=${o.qps * 2}`]),
    '--profiling=false',
  ];
}

/** kube-scheduler's KubeSchedulerConfiguration (its client settings live only there). */
export function schedulerConfigYaml(paths: ClusterPaths, o: ComponentArgsOptions): string {
  return stringify({
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: {
      kubeconfig: componentPaths(paths, 'kube-scheduler').kubeconfig,
      ...(o.qps === undefined ? {} : { qps: o.qps, burst: o.qps * 2 }),
    },
    leaderElection: { leaderElect: false },
  });
}

export function schedulerArgs(paths: ClusterPaths, o: ComponentArgsOptions): string[] {
  return [componentMarker(paths, 'kube-scheduler'), ...serving(paths, o.port), '--profiling=false'];
}

/** kwok reads its stages from the --config file (kwok-config.ts); its own server is plain HTTP. */
export function kwokArgs(paths: ClusterPaths, o: ComponentArgsOptions): string[] {
  return [
    componentMarker(paths, 'kwok'),
    `--kubeconfig=${componentPaths(paths, 'kwok').kubeconfig}`,
    // Only the nodes `up` registers: a Node a test creates stays as the test writes it.
    `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation}=fake`,
    `--server-address=127.0.0.1:${o.port}`,
  ];
}

/**
 * kwok's environment: its work folder (where it would read a default configuration) inside the
 * state folder, so a `~/.kwok/kwok.yaml` of the user's never changes what the cluster does.
 */
export function kwokEnv(paths: ClusterPaths, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...base, KWOK_WORKDIR: `${paths.components}/kwok-home` };
}

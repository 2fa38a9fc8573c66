/**
 * Command lines of the local cluster's etcd and kube-apiserver (after controller-runtime's envtest,
 * pkg/internal/testing/controlplane); the simulated cluster's other components are in
 * component-args.ts. Every flag is `--name=value`, so each process's marker (an
 * argument naming the state folder) is one exact argv entry.
 */
import type { ClusterPaths } from './state.ts';

export interface EtcdPorts {
  readonly clientPort: number;
  readonly peerPort: number;
}

/** The argument that identifies this cluster's etcd. */
export function etcdMarker(paths: ClusterPaths): string {
  return `--data-dir=${paths.etcdData}`;
}

/** The argument that identifies this cluster's kube-apiserver. */
export function apiServerMarker(paths: ClusterPaths): string {
  return `--cert-dir=${paths.pki}`;
}

export function etcdClientUrl(ports: EtcdPorts): string {
  return `http://127.0.0.1:${ports.clientPort}`;
}

export function etcdArgs(paths: ClusterPaths, ports: EtcdPorts): string[] {
  const client = etcdClientUrl(ports);
  const peer = `http://127.0.0.1:${ports.peerPort}`;
  return [
    '--name=default',
    etcdMarker(paths),
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    '--initial-cluster-state=new',
    // A test cluster's data is disposable: skip fsync (etcd ≥ 3.5), the main cost on slow disks.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

export interface ApiServerArgsOptions {
  readonly port: number;
  readonly etcdUrl: string;
  /**
   * Whether kube-controller-manager runs beside it (a simulated cluster). Without it nothing
   * creates ServiceAccounts, so the ServiceAccount admission plugin, which refuses a pod whose
   * ServiceAccount does not exist, is turned off.
   */
  readonly controllers: boolean;
}

/** The Services' range: room for the scale benchmark's 1,000 Services and more. */
export const serviceCidr = '10.0.0.0/16';

export function apiServerArgs(paths: ClusterPaths, o: ApiServerArgsOptions): string[] {
  const server = `https://127.0.0.1:${o.port}`;
  return [
    apiServerMarker(paths),
    `--etcd-servers=${o.etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${o.port}`,
    `--tls-cert-file=${paths.serverCert}`,
    `--tls-private-key-file=${paths.serverKey}`,
    `--client-ca-file=${paths.caCert}`,
    '--authorization-mode=RBAC',
    `--service-cluster-ip-range=${serviceCidr}`,
    '--allow-privileged=true',
    ...(o.controllers ? [] : ['--disable-admission-plugins=ServiceAccount']),
    `--service-account-issuer=${server}`,
    `--service-account-key-file=${paths.serviceAccountPub}`,
    `--service-account-signing-key-file=${paths.serviceAccountKey}`,
    // Nothing else listens on 127.0.0.1 for `kubernetes` Service endpoints; keep them empty.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ];
}

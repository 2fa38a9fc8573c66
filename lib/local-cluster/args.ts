/**
 * Command lines of the local cluster's etcd and kube-apiserver (after controller-runtime's envtest,
 * pkg/internal/testing/controlplane). Every flag is `--name=value`, so each process's marker (an
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
}

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
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    // No controller-manager runs, so nothing would create ServiceAccount tokens.
    '--disable-admission-plugins=ServiceAccount',
    `--service-account-issuer=${server}`,
    `--service-account-key-file=${paths.serviceAccountPub}`,
    `--service-account-signing-key-file=${paths.serviceAccountKey}`,
    // Nothing else listens on 127.0.0.1 for `kubernetes` Service endpoints; keep them empty.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ];
}

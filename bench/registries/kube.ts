/**
 * The Kubernetes side of the registries bench: a real kube-apiserver + etcd (lib/local-cluster
 * `up` into a temp dir; no controllers run), Services and EndpointSlices created directly in
 * parallel batches, and the change the bench times: one EndpointSlice replaced.
 *
 * The local cluster's Service range is a /24 (about 250 cluster IPs), so a ServiceCIDR (GA since
 * Kubernetes 1.33) adds 10.96.0.0/16 first. Without kube-controller-manager nobody sets its Ready
 * condition; the API server's allocator takes a ServiceCIDR without conditions as ready.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  DiscoveryV1Api,
  NetworkingV1Api,
  type KubeConfig,
  type V1Endpoint,
  type V1EndpointSlice,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { findBinary, missingBinaryError } from '../../lib/local-cluster/binaries.ts';
import { down, up, type LocalCluster } from '../../lib/local-cluster/cluster.ts';
import { inBatches } from './consul.ts';

export const benchNamespace = 'bench';

export class BenchKube {
  readonly dir = mkdtempSync(join(tmpdir(), 'istio-lite-bench-kube-'));
  private cluster: LocalCluster | undefined;
  private kcValue: KubeConfig | undefined;
  /** The last version of each slice the bench changed (a replace needs its resourceVersion). */
  private readonly slices = new Map<string, V1EndpointSlice>();

  get kubeconfig(): string {
    if (this.cluster === undefined) throw new Error('the local cluster is not up');
    return this.cluster.kubeconfig;
  }

  get kc(): KubeConfig {
    if (this.kcValue === undefined) throw new Error('the local cluster is not up');
    return this.kcValue;
  }

  /** The API server's and etcd's pids, for a synchronous kill on exit. */
  get pids(): number[] {
    return this.cluster ? [this.cluster.apiServer.pid, this.cluster.etcd.pid] : [];
  }

  async start(): Promise<void> {
    for (const name of ['etcd', 'kube-apiserver'] as const) {
      if (findBinary(name) === undefined) throw missingBinaryError(name, process.env);
    }
    // etcd and kube-apiserver alone, as the figures in its design note were measured.
    this.cluster = await up(this.dir, { nodes: 0 });
    this.kcValue = loadKubeConfig(this.cluster.kubeconfig);
    await this.kc.makeApiClient(NetworkingV1Api).createServiceCIDR({
      body: { metadata: { name: 'bench' }, spec: { cidrs: ['10.96.0.0/16'] } },
    });
    await this.kc
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: benchNamespace } } });
  }

  async stop(): Promise<void> {
    this.cluster = undefined;
    await down(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** `services` Services (one HTTP port) and their slices, `width` requests at a time. */
  async fill(
    services: number,
    port: number,
    addresses: (i: number) => readonly string[],
    width: number,
  ): Promise<void> {
    const core = this.kc.makeApiClient(CoreV1Api);
    const discovery = this.kc.makeApiClient(DiscoveryV1Api);
    const all = Array.from({ length: services }, (_, i) => i);
    await inBatches(all, width, async (i) => {
      const name = serviceName(i);
      await core.createNamespacedService({
        namespace: benchNamespace,
        body: {
          metadata: { name },
          spec: { ports: [{ name: 'http', port, targetPort: port, protocol: 'TCP' }] },
        },
      });
      await discovery.createNamespacedEndpointSlice({
        namespace: benchNamespace,
        body: slice(i, port, addresses(i)),
      });
    });
  }

  /** Replaces service `i`'s slice with one holding `addresses`. */
  async setEndpoints(i: number, port: number, addresses: readonly string[]): Promise<void> {
    const discovery = this.kc.makeApiClient(DiscoveryV1Api);
    const name = sliceName(i);
    const last =
      this.slices.get(name) ??
      (await discovery.readNamespacedEndpointSlice({ name, namespace: benchNamespace }));
    const body = slice(i, port, addresses, last.metadata);
    const now = await discovery.replaceNamespacedEndpointSlice({
      name,
      namespace: benchNamespace,
      body,
    });
    this.slices.set(name, now);
  }

  /** Reads the slice of service `i` ahead of a timed change (so the change is one request). */
  async prefetch(i: number): Promise<void> {
    const name = sliceName(i);
    if (this.slices.has(name)) return;
    const discovery = this.kc.makeApiClient(DiscoveryV1Api);
    this.slices.set(
      name,
      await discovery.readNamespacedEndpointSlice({ name, namespace: benchNamespace }),
    );
  }
}

export function serviceName(i: number): string {
  return `svc-${String(i)}`;
}

function sliceName(i: number): string {
  return `${serviceName(i)}-bench`;
}

/** Service `i`'s slice; `metadata`: the current one's (with its resourceVersion), for a replace. */
function slice(
  i: number,
  port: number,
  addresses: readonly string[],
  metadata?: V1ObjectMeta,
): V1EndpointSlice {
  return {
    metadata: metadata ?? {
      name: sliceName(i),
      labels: {
        'kubernetes.io/service-name': serviceName(i),
        'endpointslice.kubernetes.io/managed-by': 'bench.istio-lite',
      },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: addresses.map((a): V1Endpoint => ({ addresses: [a], conditions: { ready: true } })),
  };
}

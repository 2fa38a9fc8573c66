/**
 * The API server both sides of bench/pilot read: a real kube-apiserver + etcd (lib/local-cluster
 * `up` into a temp dir, no controllers, no nodes), the CRDs the servers watch, and the bench mesh
 * (mesh.ts) written in parallel batches. The change the bench times is one EndpointSlice
 * replaced; `watchLatency` measures the floor under it (write → a watch sees it), the same for
 * every server.
 *
 * The local cluster's Service range is a /24 (about 250 cluster IPs), so a ServiceCIDR adds
 * 10.96.0.0/16 first (without kube-controller-manager nobody sets its Ready condition; the API
 * server's allocator takes a ServiceCIDR without conditions as ready).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  DiscoveryV1Api,
  NetworkingV1Api,
  Watch,
  type KubeConfig,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import { isObject, type JsonObject } from '../../lib/json.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { kubeRequest } from '../../lib/kube/raw.ts';
import { down, up, type LocalCluster } from '../../lib/local-cluster/cluster.ts';
import { projectRoot } from '../../lib/package-info.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';
import { inBatches } from '../registries/consul.ts';
import {
  benchService,
  benchSlice,
  namespaceOf,
  namespaces,
  sliceName,
  type BenchMesh,
} from './mesh.ts';

const writeWidth = 64;
/** etcd and kube-apiserver alone: no controllers, scheduler or simulated nodes. */
const bareApiServer: Parameters<typeof up>[1] & { nodes?: number } = { nodes: 0 };

export class BenchCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'istio-lite-bench-pilot-'));
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

  get apiServerPid(): number | undefined {
    return this.cluster?.apiServer.pid;
  }

  async start(): Promise<void> {
    this.cluster = await up(this.dir, bareApiServer);
    this.kcValue = loadKubeConfig(this.cluster.kubeconfig);
    await this.kc.makeApiClient(NetworkingV1Api).createServiceCIDR({
      body: { metadata: { name: 'bench' }, spec: { cidrs: ['10.96.0.0/16'] } },
    });
    const core = this.kc.makeApiClient(CoreV1Api);
    for (const name of [
      'istio-system',
      ...Array.from({ length: namespaces }, (_, i) => namespaceOf(i)),
    ]) {
      await core.createNamespace({ body: { metadata: { name } } });
    }
  }

  async stop(): Promise<void> {
    this.cluster = undefined;
    await down(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Installs CRDs (istio-lite's chart CRDs, and `extraFile`'s: Istio's for istiod), skipping a
   * CRD an earlier file defined (both define WorkloadEntry and WorkloadGroup; the later wins), and
   * waits until the API server serves every one.
   */
  async installCrds(extraFile?: string): Promise<number> {
    const chartDir = join(projectRoot, 'charts', 'istio-lite', 'crds');
    const files = readdirSync(chartDir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(chartDir, f));
    const byName = new Map<string, JsonObject>();
    for (const file of [...files, ...(extraFile ? [extraFile] : [])]) {
      for (const d of parseYamlDocuments(readFileSync(file, 'utf8'), file)) {
        const v = d.value;
        if (!isObject(v) || v['kind'] !== 'CustomResourceDefinition') continue;
        const md = v['metadata'];
        if (isObject(md) && typeof md['name'] === 'string') byName.set(md['name'], v);
      }
    }
    await applyObjects(this.kc, [...byName.values()], 'bench-pilot');
    for (const name of byName.keys()) await this.established(name);
    return byName.size;
  }

  private async established(name: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await kubeRequest(
        this.kc,
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      const v: unknown = r.status === 200 ? JSON.parse(r.body) : undefined;
      const status = isObject(v) ? v['status'] : undefined;
      const conditions = isObject(status) ? status['conditions'] : undefined;
      if (
        Array.isArray(conditions) &&
        conditions.some((c) => isObject(c) && c['type'] === 'Established' && c['status'] === 'True')
      ) {
        return;
      }
      if (Date.now() > deadline) throw new Error(`CRD ${name} not established within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The mesh: every Service, then its slice, `writeWidth` services at a time. */
  async fill(m: BenchMesh): Promise<void> {
    const core = this.kc.makeApiClient(CoreV1Api);
    const discovery = this.kc.makeApiClient(DiscoveryV1Api);
    const all = Array.from({ length: m.services }, (_, i) => i);
    await inBatches(all, writeWidth, async (i) => {
      const namespace = namespaceOf(i);
      await core.createNamespacedService({ namespace, body: benchService(i) });
      const slice = await discovery.createNamespacedEndpointSlice({
        namespace,
        body: benchSlice(i, m),
      });
      this.slices.set(sliceName(i), slice);
    });
  }

  /** Replaces service `i`'s slice with change `version`'s (its first endpoint moved). */
  async move(i: number, m: BenchMesh, version: number): Promise<void> {
    const discovery = this.kc.makeApiClient(DiscoveryV1Api);
    const name = sliceName(i);
    const last =
      this.slices.get(name) ??
      (await discovery.readNamespacedEndpointSlice({ name, namespace: namespaceOf(i) }));
    const now = await discovery.replaceNamespacedEndpointSlice({
      name,
      namespace: namespaceOf(i),
      body: benchSlice(i, m, version, last.metadata),
    });
    this.slices.set(name, now);
  }

  /**
   * The floor under every change the bench times: `rounds` label updates of one slice, each from
   * just before the write until a watch on all slices delivers it (milliseconds, sorted).
   */
  async watchLatency(rounds: number): Promise<number[]> {
    const namespace = namespaceOf(0);
    const name = sliceName(0);
    this.slices.delete(name); // its resourceVersion changes here
    let waiting: { rv: string; resolve: () => void } | undefined;
    let seen = '';
    const w = await new Watch(this.kc).watch(
      '/apis/discovery.k8s.io/v1/endpointslices',
      { allowWatchBookmarks: false },
      (_phase, obj: V1EndpointSlice) => {
        if (obj.metadata?.name !== name) return;
        seen = obj.metadata.resourceVersion ?? '';
        if (waiting?.rv === seen) waiting.resolve();
      },
      () => undefined,
    );
    const out: number[] = [];
    try {
      await new Promise((r) => setTimeout(r, 200));
      for (let k = 0; k < rounds; k++) {
        const at = Date.now();
        const r = await kubeRequest(
          this.kc,
          'PATCH',
          `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices/${name}`,
          JSON.stringify({ metadata: { annotations: { probe: String(k) } } }),
          'application/merge-patch+json',
        );
        const v: unknown = JSON.parse(r.body);
        const md = isObject(v) ? v['metadata'] : undefined;
        const rv =
          isObject(md) && typeof md['resourceVersion'] === 'string' ? md['resourceVersion'] : '';
        if (seen !== rv) {
          await new Promise<void>((resolve) => {
            waiting = { rv, resolve };
          });
        }
        out.push(Date.now() - at);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      w.abort();
    }
    return out.sort((a, b) => a - b);
  }
}

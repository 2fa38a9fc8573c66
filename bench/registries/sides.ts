/**
 * bench/registries' two sides, the same mesh in each: a real Consul (instances registered with
 * tags and a passing check) and a real kube-apiserver (Services and EndpointSlices); how each is
 * started, filled, changed round by round (an address added, then removed) and stopped.
 */
import { leftovers, onCleanup } from '../cleanup.ts';
import { BenchConsul, inBatches, type ConsulInstance } from './consul.ts';
import { BenchKube, benchNamespace, serviceName } from './kube.ts';

export type Kind = 'consul' | 'kubernetes';

export interface MeshShape {
  readonly services: number;
  readonly instances: number;
  /** Consul's `limits.http_max_conns_per_client`; absent: Consul's default (200). */
  readonly consulMaxConns: number | undefined;
}

/** Every instance listens here (an HTTP port: HTTP listeners and route configurations are real). */
export const port = 8080;
const writeWidth = 64;

function ip(base: number, n: number): string {
  return `${String(base)}.${String((n >> 16) & 255)}.${String((n >> 8) & 255)}.${String(n & 255)}`;
}
/** The addresses of service `i`'s instances: the same in both registries. */
function addresses(m: MeshShape, i: number): string[] {
  return Array.from({ length: m.instances }, (_, j) => ip(100, i * m.instances + j));
}
/** Rounds 2p-1 and 2p add, then remove, address 11.x of service (37p mod services). */
export function changed(
  m: MeshShape,
  r: number,
): { service: number; address: string; add: boolean } {
  const pair = Math.ceil(r / 2);
  return { service: (pair * 37) % m.services, address: ip(11, pair), add: r % 2 === 1 };
}

export interface Side {
  readonly kind: Kind;
  readonly label: string;
  /** Starts the server. */
  start(): Promise<void>;
  /** Fills it; the env that points Pilot at it. */
  fill(): Promise<NodeJS.ProcessEnv>;
  clusterOf(i: number): string;
  /** Applies round `r`'s change; resolves once the server took it. */
  change(r: number): Promise<void>;
  /** Work done before a round's clock starts (nothing in Consul; a read in Kubernetes). */
  prepare(r: number): Promise<void>;
  stop(): Promise<void>;
}

export function consulSide(m: MeshShape): Side {
  const consul = new BenchConsul();
  leftovers.dirs.add(consul.dir);
  const node = (n: number) => `node-${String(n % 100)}`;
  const nodeAddress = (n: number) => ip(172, n % 100);
  const extra = (r: number): ConsulInstance => {
    const c = changed(m, r);
    const pair = Math.ceil(r / 2);
    return {
      service: serviceName(c.service),
      id: `${serviceName(c.service)}-extra-${String(pair)}`,
      node: node(pair),
      nodeAddress: nodeAddress(pair),
      address: c.address,
      port,
      tags: ['version|v2'],
    };
  };
  return {
    kind: 'consul',
    label: 'Consul',
    async start() {
      onCleanup(() => consul.stop());
      await consul.start(m.consulMaxConns);
    },
    async fill() {
      const all: ConsulInstance[] = [];
      for (let i = 0; i < m.services; i++) {
        addresses(m, i).forEach((address, j) => {
          const n = i * m.instances + j;
          all.push({
            service: serviceName(i),
            id: `${serviceName(i)}-${String(j)}`,
            node: node(n),
            nodeAddress: nodeAddress(n),
            address,
            port,
            tags: [`version|v${String((j % 2) + 1)}`],
          });
        });
      }
      await inBatches(all, writeWidth, (x) => consul.register(x));
      const count = await consul.serviceCount();
      if (count !== m.services + 1) throw new Error(`consul has ${String(count)} services`);
      return { REGISTRY: 'consul', CONSUL_URL: consul.url };
    },
    clusterOf: (i) => `outbound|${String(port)}||${serviceName(i)}.service.consul`,
    async change(r) {
      const x = extra(r);
      if (changed(m, r).add) await consul.register(x);
      else await consul.deregister(x.node, x.id);
    },
    prepare: () => Promise.resolve(),
    stop: () => consul.stop(),
  };
}

export function kubeSide(m: MeshShape): Side {
  const kube = new BenchKube();
  leftovers.dirs.add(kube.dir);
  const endpointsAfter = (r: number) => {
    const c = changed(m, r);
    return c.add ? [...addresses(m, c.service), c.address] : addresses(m, c.service);
  };
  return {
    kind: 'kubernetes',
    label: 'Kubernetes',
    async start() {
      onCleanup(() => kube.stop());
      await kube.start();
      for (const pid of kube.pids) leftovers.pids.add(pid);
    },
    async fill() {
      await kube.fill(m.services, port, (i) => addresses(m, i), writeWidth);
      return { REGISTRY: 'kubernetes', KUBECONFIG: kube.kubeconfig };
    },
    clusterOf: (i) =>
      `outbound|${String(port)}||${serviceName(i)}.${benchNamespace}.svc.cluster.local`,
    change: (r) => kube.setEndpoints(changed(m, r).service, port, endpointsAfter(r)),
    prepare: (r) => kube.prefetch(changed(m, r).service),
    async stop() {
      const pids = kube.pids;
      await kube.stop();
      for (const pid of pids) leftovers.pids.delete(pid);
    },
  };
}

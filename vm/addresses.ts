/**
 * Where a VM reaches the control plane. cluster.env always names Pilot, Mixer and the CA by their
 * Kubernetes DNS names (`istio-ca.<ns>.svc:PORT`: the CA's serving certificate is for those
 * names), and the bundle's `hosts` lines map the names to the IPs the VM can reach. The IP and port
 * come from a flag (`--ca-address IP:PORT`), else from the chart's mesh-expansion Service
 * (`istio-ca-ilb`): a LoadBalancer's ingress address with the Service port, or for a NodePort
 * Service a node's InternalIP with the node port. A flag naming a host instead of an IP is used as
 * it is (the VM resolves it itself). Pure: the Services and Nodes are read by the caller.
 */
import { isIP } from 'node:net';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import type { AddressFlag } from './bundle-args.ts';

export interface Component {
  /** For messages: `Pilot`. */
  readonly title: string;
  /** The flag that gives its address. */
  readonly flag: 'pilot-address' | 'mixer-address' | 'ca-address';
  /** The in-cluster Service whose DNS name cluster.env uses. */
  readonly service: string;
  /** The chart's mesh-expansion Service, and its port. */
  readonly ilb: string;
  readonly port: number;
}

export const ControlPlane = {
  pilot: {
    title: 'Pilot',
    flag: 'pilot-address',
    service: 'istio-pilot',
    ilb: 'istio-pilot-ilb',
    port: 15010,
  },
  mixer: {
    title: 'Mixer',
    flag: 'mixer-address',
    service: 'istio-mixer',
    ilb: 'mixer-ilb',
    port: 9091,
  },
  ca: { title: 'the CA', flag: 'ca-address', service: 'istio-ca', ilb: 'istio-ca-ilb', port: 8060 },
} as const satisfies Readonly<Record<string, Component>>;

export type ComponentName = keyof typeof ControlPlane;

/** How the VM reaches one component. */
export interface Reach {
  /** host:port for cluster.env. */
  readonly address: string;
  /** The IP to map the DNS name to in `hosts`; none when a host name was given. */
  readonly hostsIp?: string;
  /** The DNS name `hostsIp` is for. */
  readonly name: string;
  /** Where it came from, for the summary. */
  readonly from: string;
}

export function dnsName(c: Component, controlPlaneNamespace: string): string {
  return `${c.service}.${controlPlaneNamespace}.svc`;
}

function fail(message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidConfig, message);
}

const byName = (a: V1Node, b: V1Node) =>
  (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

function internalIp(n: V1Node): string | undefined {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

function isReady(n: V1Node): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** A Ready node's InternalIP (else any node's), the first by name: the same on every run. */
export function nodeInternalIp(nodes: readonly V1Node[]): { ip: string; node: string } | undefined {
  const sorted = [...nodes].sort(byName);
  const pick = sorted.find((n) => isReady(n) && internalIp(n)) ?? sorted.find((n) => internalIp(n));
  const ip = pick === undefined ? undefined : internalIp(pick);
  return ip === undefined ? undefined : { ip, node: pick?.metadata?.name ?? '' };
}

/** Where a mesh-expansion Service is reachable from outside, or why it is not. */
function fromService(
  c: Component,
  svc: V1Service,
  nodes: () => readonly V1Node[],
): { host: string; port: number; from: string } {
  const ns = svc.metadata?.namespace ?? '';
  const where = `Service ${ns}/${c.ilb}`;
  const instead = `, or pass --${c.flag} IP:PORT`;
  const ports = svc.spec?.ports ?? [];
  const port = ports.find((p) => p.port === c.port) ?? (ports.length === 1 ? ports[0] : undefined);
  if (port === undefined) {
    throw fail(`${where} has no port ${String(c.port)}${instead}`);
  }
  const type = svc.spec?.type ?? 'ClusterIP';
  if (type === 'LoadBalancer') {
    const ingress = svc.status?.loadBalancer?.ingress?.find((i) => i.ip ?? i.hostname);
    const host = ingress?.ip ?? ingress?.hostname;
    if (host !== undefined) return { host, port: port.port, from: `${where} (LoadBalancer)` };
    throw fail(
      `${where} is a LoadBalancer with no address yet: wait for one (or use meshExpansion.type=NodePort)${instead}`,
    );
  } else if (type !== 'NodePort') {
    throw fail(
      `${where} is of type ${type}, which a VM cannot reach: make it LoadBalancer or NodePort (meshExpansion.type)${instead}`,
    );
  }
  if (port.nodePort === undefined) throw fail(`${where} has no nodePort${instead}`);
  const node = nodeInternalIp(nodes());
  if (node === undefined) {
    throw fail(`${where} is a NodePort, but no node has an InternalIP address${instead}`);
  }
  return { host: node.ip, port: port.nodePort, from: `${where} (NodePort on node ${node.node})` };
}

/**
 * How the VM reaches component `c`: from its flag, else its mesh-expansion Service. Undefined only
 * for an optional component (Mixer) with neither; a required one is an error naming the flag.
 */
export function resolveReach(
  c: Component,
  opts: {
    readonly flag: AddressFlag | undefined;
    readonly service: V1Service | undefined;
    readonly nodes: () => readonly V1Node[];
    readonly controlPlaneNamespace: string;
    readonly optional: boolean;
  },
): Reach | undefined {
  const name = dnsName(c, opts.controlPlaneNamespace);
  let target: { host: string; port: number; from: string };
  if (opts.flag !== undefined) {
    target = { host: opts.flag.host, port: opts.flag.port, from: `--${c.flag}` };
  } else if (opts.service !== undefined) {
    target = fromService(c, opts.service, opts.nodes);
  } else if (opts.optional) {
    return undefined;
  } else {
    throw fail(
      `no address for ${c.title}: pass --${c.flag} IP:PORT, or enable meshExpansion in the chart (meshExpansion.enabled=true creates Service ${opts.controlPlaneNamespace}/${c.ilb})`,
    );
  }
  const port = String(target.port);
  if (isIP(target.host) === 0) {
    return { address: `${target.host}:${port}`, name, from: target.from };
  }
  return { address: `${name}:${port}`, hostsIp: target.host, name, from: target.from };
}

/** `IP name...` lines, one per IP, in the order the names come. */
export function renderHosts(reaches: readonly Reach[]): string {
  const byIp = new Map<string, string[]>();
  for (const r of reaches) {
    if (r.hostsIp === undefined) continue;
    const names = byIp.get(r.hostsIp) ?? [];
    if (!names.includes(r.name)) names.push(r.name);
    byIp.set(r.hostsIp, names);
  }
  return [...byIp].map(([ip, names]) => `${ip} ${names.join(' ')}\n`).join('');
}

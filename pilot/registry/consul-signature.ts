/**
 * What Consul's blocking queries say of each service, as a comparable signature: its own tags and
 * checks, and (apart) the nodes it runs on. A service is read again only when its signature moves.
 */
import type { ConsulHealthCheck, ConsulNode } from './consul-wire.ts';

/** What blocking queries say of a service: of itself (tags, checks), and of its nodes. */
export interface Signature {
  readonly own: string;
  readonly nodes: string;
}

/** The checks of one round, by service and (node-level ones) by node. */
export interface CheckIndex {
  readonly byService: ReadonlyMap<string, readonly ConsulHealthCheck[]>;
  readonly byNode: ReadonlyMap<string, readonly ConsulHealthCheck[]>;
}

export function indexChecks(checks: readonly ConsulHealthCheck[]): CheckIndex {
  const byService = new Map<string, ConsulHealthCheck[]>();
  const byNode = new Map<string, ConsulHealthCheck[]>();
  for (const c of checks) {
    const [map, key] = c.serviceId === '' ? [byNode, c.node] : [byService, c.serviceName];
    let list = map.get(key);
    if (!list) map.set(key, (list = []));
    list.push(c);
  }
  return { byService, byNode };
}

function checkWords(checks: readonly ConsulHealthCheck[] | undefined): string[] {
  return (checks ?? [])
    .map((c) => JSON.stringify([c.node, c.serviceId, c.checkId, c.status, c.modifyIndex]))
    .sort();
}

/**
 * A service's signature: its tags and its checks, and for every node it has (or had) an instance
 * on, the node's address, metadata and node-level checks. Equal signatures: nothing a blocking
 * query can see changed for it.
 */
export function consulSignature(
  tags: readonly string[],
  name: string,
  checks: CheckIndex,
  nodes: ReadonlyMap<string, ConsulNode>,
  instanceNodes: readonly string[],
): Signature {
  const own = checks.byService.get(name);
  const nodeNames = [...new Set([...instanceNodes, ...(own ?? []).map((c) => c.node)])].sort();
  return {
    own: JSON.stringify([[...tags].sort(), checkWords(own)]),
    nodes: JSON.stringify(
      nodeNames.map((n) => {
        const node = nodes.get(n);
        return [
          n,
          node?.address ?? null,
          node === undefined ? [] : [...node.meta].sort(),
          checkWords(checks.byNode.get(n)),
        ];
      }),
    ),
  };
}

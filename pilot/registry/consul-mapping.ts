/**
 * Istio 0.2's mapping of a Consul service to a mesh service (docs/reference/pilot.md, "Consul"):
 * host `<name>.service.consul`, labels from `key|value` tags, the port's protocol from the
 * instance's `protocol` metadata (ServiceMeta, else NodeMeta; default http, unknown tcp), the
 * address from the service, else its node; an instance is ready while all its checks pass.
 */
import type { Protocol } from '../model/protocol.ts';
import { emptyLocality, type Endpoint, type ServicePort } from '../model/service.ts';
import type { ConsulHealthEntry } from './consul-wire.ts';
import { isIpAddress, protocolWord, type Warn } from './mapping.ts';
import type { ServiceView } from './view.ts';

export const ConsulRegistryName = 'Consul';

/** The mesh host of a Consul service (Consul's DNS name for it, without a datacenter). */
export function consulHostname(name: string): string {
  return `${name}.service.consul`;
}

/** Labels from tags written `key|value` (split at the first `|`); other tags are not labels. */
export function consulLabels(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags) {
    const i = tag.indexOf('|');
    if (i <= 0) continue;
    out[tag.slice(0, i)] = tag.slice(i + 1);
  }
  return out;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** The protocol of an instance's port: metadata `protocol`, service meta first, else http. */
export function consulProtocol(e: ConsulHealthEntry, warn: Warn): Protocol {
  const word =
    nonEmpty(e.service.meta.get('protocol')) ?? nonEmpty(e.node.meta.get('protocol')) ?? 'http';
  const p = protocolWord(word);
  if (p !== undefined) return p;
  warn(
    `protocol|${word}`,
    `protocol "${word}" (instance ${e.service.id}) is not one of tcp, udp, grpc, http, http2, https, mongo, redis: tcp`,
  );
  return 'TCP';
}

/**
 * One Consul service as a mesh service and its endpoints; undefined when no instance has a port
 * and an IP address. Instances are taken in (node, id) order, so when two disagree on a port's
 * protocol the same one wins every time.
 */
export function consulServiceView(
  name: string,
  entries: readonly ConsulHealthEntry[],
  warn: Warn,
): ServiceView | undefined {
  const hostname = consulHostname(name);
  const sorted = [...entries].sort((a, b) =>
    a.node.node !== b.node.node
      ? a.node.node < b.node.node
        ? -1
        : 1
      : a.service.id < b.service.id
        ? -1
        : a.service.id > b.service.id
          ? 1
          : 0,
  );
  const ports = new Map<number, ServicePort>();
  const endpoints: Endpoint[] = [];
  for (const e of sorted) {
    const s = e.service;
    const where = `instance ${s.id} of ${hostname} on node ${e.node.node}`;
    if (s.port === 0) {
      warn(`noport|${hostname}|${s.id}`, `${where} has no port: left out`);
      continue;
    }
    const address = s.address !== '' ? s.address : e.node.address;
    if (!isIpAddress(address)) {
      warn(
        `address|${hostname}|${s.id}|${address}`,
        `${where}: "${address}" is not an IP: left out`,
      );
      continue;
    }
    const protocol = consulProtocol(e, warn);
    const had = ports.get(s.port);
    if (had === undefined) {
      ports.set(s.port, { name: String(s.port), port: s.port, protocol });
    } else if (had.protocol !== protocol) {
      warn(
        `conflict|${hostname}|${String(s.port)}|${protocol}`,
        `${where} says port ${String(s.port)} is ${protocol}, an earlier instance ${had.protocol}: ${had.protocol} kept`,
      );
    }
    endpoints.push({
      address,
      port: s.port,
      servicePortName: String(s.port),
      ready: e.checks.every((c) => c.status === 'passing'),
      locality: emptyLocality,
      weight: 1,
      labels: consulLabels(s.tags),
      serviceAccount: undefined,
      tlsMode: 'disabled',
      pod: undefined,
    });
  }
  if (ports.size === 0) return undefined;
  return {
    service: {
      hostname,
      name,
      namespace: '',
      clusterIP: undefined,
      ports: [...ports.values()].sort((a, b) => a.port - b.port),
      registry: ConsulRegistryName,
    },
    endpoints,
  };
}

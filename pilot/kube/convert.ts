/**
 * Kubernetes objects to the service model. Objects from the API server are untrusted: a field of
 * the wrong shape is skipped (and reported), never trusted into generated config.
 *
 * Locality: zone from the EndpointSlice endpoint (or the pod label `topology.kubernetes.io/zone`),
 * region from the pod label `topology.kubernetes.io/region`, subzone from `topology.istio.io/subzone`
 * (Pilot does not watch Nodes). Weight 1 per endpoint.
 */
import { isIP } from 'node:net';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { protocolOf } from '../model/protocol.ts';
import {
  KubernetesRegistry,
  serviceHostname,
  type Endpoint,
  type Service,
  type ServicePort,
  type TlsMode,
} from '../model/service.ts';

export const ServiceNameLabel = 'kubernetes.io/service-name';
export const TlsModeLabel = 'security.istio.io/tlsMode';

export function objectKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

function validPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

/** A Service as the model sees it, or a reason it is not one Pilot serves. */
export function convertService(svc: V1Service, domain: string): Service | { skip: string } {
  const name = svc.metadata?.name;
  const namespace = svc.metadata?.namespace;
  if (name === undefined || namespace === undefined) return { skip: 'no name or namespace' };
  const spec = svc.spec;
  if (spec?.type === 'ExternalName') return { skip: 'ExternalName services have no endpoints' };
  const ip = spec?.clusterIP;
  const clusterIP = ip === 'None' || ip === undefined || ip === '' ? undefined : ip;
  if (clusterIP !== undefined && isIP(clusterIP) === 0)
    return { skip: `clusterIP "${clusterIP}" is not an IP` };
  const ports: ServicePort[] = [];
  for (const p of spec?.ports ?? []) {
    if (!validPort(p.port)) continue;
    const portName = p.name ?? '';
    ports.push({
      name: portName,
      port: p.port,
      protocol: protocolOf({ name: portName, appProtocol: p.appProtocol, transport: p.protocol }),
    });
  }
  return {
    hostname: serviceHostname(name, namespace, domain),
    name,
    namespace,
    clusterIP,
    ports,
    registry: KubernetesRegistry,
  };
}

/** What Pilot needs of a pod, kept small (the informer caches the whole object anyway). */
export interface PodInfo {
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string | undefined;
  readonly tlsMode: TlsMode;
}

export function podInfo(pod: V1Pod): PodInfo {
  const labels = pod.metadata?.labels ?? {};
  return {
    labels,
    serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    tlsMode: labels[TlsModeLabel] === 'istio' ? 'istio' : 'disabled',
  };
}

export function samePodInfo(a: PodInfo, b: PodInfo): boolean {
  if (a.serviceAccount !== b.serviceAccount || a.tlsMode !== b.tlsMode) return false;
  const ka = Object.keys(a.labels);
  return ka.length === Object.keys(b.labels).length && ka.every((k) => a.labels[k] === b.labels[k]);
}

/**
 * The pod (`ns/name`) an EndpointSlice endpoint points at, if any. A targetRef may leave out its
 * namespace (hand-written slices do): an EndpointSlice only selects pods of its own namespace, so
 * the slice's namespace is the pod's.
 */
export function endpointPodKey(
  e: NonNullable<V1EndpointSlice['endpoints']>[number],
  sliceNamespace: string | undefined,
): string | undefined {
  const ref = e.targetRef;
  if (ref?.kind !== 'Pod' || ref.name === undefined) return undefined;
  const ns = ref.namespace !== undefined && ref.namespace !== '' ? ref.namespace : sliceNamespace;
  return objectKey(ns, ref.name);
}

/**
 * The endpoints of one service from all its slices. Not-ready endpoints are kept (marked) so a
 * pod's inbound side exists while it starts; EDS leaves them out. FQDN slices are skipped.
 */
export function convertEndpoints(
  slices: Iterable<V1EndpointSlice>,
  pod: (key: string) => PodInfo | undefined,
): Endpoint[] {
  const out: Endpoint[] = [];
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const ports = (slice.ports ?? []).filter((p) => validPort(p.port));
    for (const e of slice.endpoints ?? []) {
      const key = endpointPodKey(e, slice.metadata?.namespace);
      const info = key === undefined ? undefined : pod(key);
      const labels = info?.labels ?? {};
      const locality = {
        region: labels['topology.kubernetes.io/region'] ?? '',
        zone: e.zone ?? labels['topology.kubernetes.io/zone'] ?? '',
        subzone: labels['topology.istio.io/subzone'] ?? '',
      };
      // Ready unless the API says otherwise (nil means ready); a terminating pod is not.
      const ready = e.conditions?.ready !== false && e.conditions?.terminating !== true;
      for (const address of e.addresses) {
        if (isIP(address) === 0) continue;
        for (const p of ports) {
          out.push({
            address,
            port: p.port ?? 0,
            servicePortName: p.name ?? '',
            ready,
            locality,
            weight: 1,
            labels,
            serviceAccount: info?.serviceAccount,
            tlsMode: info?.tlsMode ?? 'disabled',
            pod: key === undefined ? undefined : key.split('/').reverse().join('.'),
          });
        }
      }
    }
  }
  out.sort(byAddressAndPort);
  return out;
}

/** The order endpoints are kept in, so an unchanged list compares equal. */
export function byAddressAndPort(a: Endpoint, b: Endpoint): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  if (a.port !== b.port) return a.port - b.port;
  if (a.servicePortName === b.servicePortName) return 0;
  return a.servicePortName < b.servicePortName ? -1 : 1;
}

/**
 * Who is on the other end of an ADS stream. Envoy sidecars and gateways identify themselves by
 * node id, Istio's way: `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local` or `router~…`.
 * Proxyless gRPC clients (`@grpc/grpc-js-xds`) say so with node metadata `GENERATOR: grpc`, and may
 * use any id; their namespace then comes from metadata `NAMESPACE` (default "default").
 */
import { isIP } from 'node:net';
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';

export const ProxyKind = ['sidecar', 'router', 'grpc'] as const;
export type ProxyKind = (typeof ProxyKind)[number];

export interface Proxy {
  readonly id: string;
  readonly kind: ProxyKind;
  /** The proxy's IP, when the id carries one. */
  readonly ip: string | undefined;
  /** `pod.ns` from the id, when present. */
  readonly pod: string | undefined;
  readonly namespace: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

const idForm = '<sidecar|router>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>';

function parseEnvoyId(id: string): Omit<Proxy, 'metadata' | 'kind'> & { type: string } {
  const parts = id.split('~');
  const [type, ip, pod, domain] = parts;
  if (
    parts.length !== 4 ||
    type === undefined ||
    ip === undefined ||
    pod === undefined ||
    domain === undefined
  ) {
    throw new IstioLiteError(
      ErrorCode.InvalidInput,
      `node id "${id}" is not of the form ${idForm}`,
    );
  }
  if (isIP(ip) === 0) {
    throw new IstioLiteError(
      ErrorCode.InvalidInput,
      `node id "${id}": "${ip}" is not an IP address`,
    );
  }
  const namespace = domain.split('.')[0] ?? '';
  if (namespace === '') {
    throw new IstioLiteError(
      ErrorCode.InvalidInput,
      `node id "${id}": no namespace in "${domain}"`,
    );
  }
  return { id, type, ip, pod: pod === '' ? undefined : pod, namespace };
}

/** Identifies a node; throws InvalidInput (a gRPC INVALID_ARGUMENT) when it cannot. */
export function parseProxy(id: string, metadata: Readonly<Record<string, unknown>>): Proxy {
  if (metadata['GENERATOR'] === 'grpc') {
    const ns = metadata['NAMESPACE'];
    try {
      const p = parseEnvoyId(id);
      return { id, kind: 'grpc', ip: p.ip, pod: p.pod, namespace: p.namespace, metadata };
    } catch {
      const namespace = typeof ns === 'string' && ns !== '' ? ns : 'default';
      return { id, kind: 'grpc', ip: undefined, pod: undefined, namespace, metadata };
    }
  }
  const p = parseEnvoyId(id);
  if (p.type !== 'sidecar' && p.type !== 'router') {
    throw new IstioLiteError(
      ErrorCode.InvalidInput,
      `node id "${id}": type "${p.type}" is neither sidecar nor router (or set metadata GENERATOR=grpc)`,
    );
  }
  return { id, kind: p.type, ip: p.ip, pod: p.pod, namespace: p.namespace, metadata };
}

/**
 * Told when a proxy identifies itself on an ADS stream and when that stream ends (WorkloadEntry
 * auto-registration). Called once each per stream; must not throw.
 */
export interface ProxyObserver {
  connected(proxy: Proxy): void;
  disconnected(proxy: Proxy): void;
}

/**
 * Protocols of service ports, as Istio infers them: `appProtocol` when set, else the port name's
 * prefix (`http`, `http-web`, `grpc-api`, ...). Anything else is plain TCP.
 */
export const Protocol = ['HTTP', 'HTTP2', 'GRPC', 'HTTPS', 'MONGO', 'REDIS', 'TCP', 'UDP'] as const;
export type Protocol = (typeof Protocol)[number];

const byName: Readonly<Record<string, Protocol>> = {
  http: 'HTTP',
  http2: 'HTTP2',
  h2c: 'HTTP2',
  grpc: 'GRPC',
  'grpc-web': 'HTTP',
  https: 'HTTPS',
  tls: 'HTTPS',
  mongo: 'MONGO',
  redis: 'REDIS',
  tcp: 'TCP',
  udp: 'UDP',
  'kubernetes.io/h2c': 'HTTP2',
  'kubernetes.io/ws': 'HTTP',
  'kubernetes.io/wss': 'HTTPS',
};

/**
 * The protocol of a service port. `appProtocol` wins over the name; the name counts up to its first
 * `-` (`http-web` is HTTP); the Kubernetes transport protocol UDP or SCTP is never proxied.
 */
export function protocolOf(port: {
  readonly name: string;
  readonly appProtocol?: string | undefined;
  readonly transport?: string | undefined;
}): Protocol {
  if (port.transport !== undefined && port.transport !== 'TCP') return 'UDP';
  const app = port.appProtocol?.toLowerCase();
  if (app !== undefined && app !== '') {
    const p = byName[app];
    if (p !== undefined) return p;
  }
  const name = port.name.toLowerCase();
  const prefix = name.split('-')[0] ?? name;
  return byName[name] ?? byName[prefix] ?? 'TCP';
}

/** Ports whose traffic goes through an HTTP connection manager. */
export function isHttp(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC';
}

/** Ports whose upstream connections speak HTTP/2. */
export function isHttp2(p: Protocol): boolean {
  return p === 'HTTP2' || p === 'GRPC';
}

/** Small builders for services and endpoints in tests and the bench. */
import { protocolOf } from '../model/protocol.ts';
import {
  KubernetesRegistry,
  emptyLocality,
  serviceHostname,
  type Endpoint,
  type Locality,
  type Service,
  type TlsMode,
} from '../model/service.ts';

export function service(
  name: string,
  namespace: string,
  ports: Readonly<Record<string, number>>,
  clusterIP: string | undefined,
): Service {
  return {
    hostname: serviceHostname(name, namespace, 'cluster.local'),
    name,
    namespace,
    clusterIP,
    ports: Object.entries(ports).map(([n, port]) => ({
      name: n,
      port,
      protocol: protocolOf({ name: n }),
    })),
    registry: KubernetesRegistry,
  };
}

export interface EndpointOptions {
  readonly ready?: boolean;
  readonly locality?: Locality;
  readonly weight?: number;
  readonly serviceAccount?: string;
  readonly tlsMode?: TlsMode;
  readonly labels?: Readonly<Record<string, string>>;
}

export function endpoint(
  address: string,
  port: number,
  servicePortName: string,
  o: EndpointOptions = {},
): Endpoint {
  return {
    address,
    port,
    servicePortName,
    ready: o.ready ?? true,
    locality: o.locality ?? emptyLocality,
    weight: o.weight ?? 1,
    labels: o.labels ?? {},
    serviceAccount: o.serviceAccount,
    tlsMode: o.tlsMode ?? 'istio',
    pod: undefined,
  };
}

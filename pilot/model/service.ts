/**
 * The service model Pilot generates from: services with their ports, and the endpoints behind
 * each port. Plain readonly data; a registry builds it from Kubernetes (or a test builds it by
 * hand) and never changes an object after handing it out.
 */
import type { Protocol } from './protocol.ts';

export interface ServicePort {
  /** The port's name ("" for a single unnamed port). */
  readonly name: string;
  /** The service port clients dial. */
  readonly port: number;
  readonly protocol: Protocol;
}

export interface Service {
  /** `name.namespace.svc.<domain>`, the key of everything generated for the service. */
  readonly hostname: string;
  readonly name: string;
  readonly namespace: string;
  /** The cluster IP, or undefined for a headless service (`clusterIP: None`). */
  readonly clusterIP: string | undefined;
  readonly ports: readonly ServicePort[];
}

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subzone: string;
}

export const TlsMode = ['istio', 'disabled'] as const;
export type TlsMode = (typeof TlsMode)[number];

/** One address:port serving one service port. */
export interface Endpoint {
  readonly address: string;
  /** The port on the endpoint (the resolved targetPort). */
  readonly port: number;
  /** The service port this endpoint serves, by name. */
  readonly servicePortName: string;
  readonly ready: boolean;
  readonly locality: Locality;
  /** Load-balancing weight, at least 1. */
  readonly weight: number;
  readonly labels: Readonly<Record<string, string>>;
  /** The pod's service account, when known. */
  readonly serviceAccount: string | undefined;
  /** `istio` when the pod runs a sidecar (label `security.istio.io/tlsMode`), so it can take mTLS. */
  readonly tlsMode: TlsMode;
  /** `name.namespace` of the pod behind the endpoint, when known. */
  readonly pod: string | undefined;
}

/**
 * What a registry hands out: immutable, and unchanged objects keep their identity from one state
 * to the next (generators cache by identity).
 */
export interface RegistryState {
  /** By hostname. */
  readonly services: ReadonlyMap<string, Service>;
  /** By hostname; a service with no endpoints has an empty list or no entry. */
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
}

/**
 * A source of services and endpoints. Contract: `current()` is cheap when nothing changed (returns
 * the same object); listeners run after the change is visible through `current()`.
 */
export interface ServiceRegistry {
  current(): RegistryState;
  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Why the registry is not yet complete (initial lists not in), or undefined when it is. */
  notSynced(): string | undefined;
}

export const emptyLocality: Locality = { region: '', zone: '', subzone: '' };

export function serviceHostname(name: string, namespace: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

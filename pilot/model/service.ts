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
  /**
   * The key of everything generated for the service: `name.namespace.svc.<domain>` for a
   * Kubernetes service, `name.service.consul` for a Consul one, an instance's `hostName` for Eureka.
   */
  readonly hostname: string;
  readonly name: string;
  /** The Kubernetes namespace; "" for a service from another registry. */
  readonly namespace: string;
  /** The cluster IP, or undefined for a headless service (`clusterIP: None`) or one outside Kubernetes. */
  readonly clusterIP: string | undefined;
  readonly ports: readonly ServicePort[];
  /**
   * The registry the service comes from (`Kubernetes`, `Consul`, `Eureka`). Only a Kubernetes
   * service has Kubernetes DNS names and can be headless (reached at the address the app dialed);
   * any other is reached by its hostname and balanced over its endpoints.
   */
  readonly registry: string;
}

/** The registry name of Kubernetes services. */
export const KubernetesRegistry = 'Kubernetes';

export function isKubernetesService(svc: Service): boolean {
  return svc.registry === KubernetesRegistry;
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

/** Where a registry stands, for /debug/registryz, /ready and the `pilot_registry_*` metrics. */
export interface RegistryStatus {
  /** `Kubernetes`, `Consul`, `Eureka`: what `--registries` names it. */
  readonly name: string;
  /** What it reads (the server's URL), when it has one. */
  readonly source: string | undefined;
  /**
   * `syncing`: no complete view yet; `synced`: its last request succeeded; `down`: its last
   * request failed, and Pilot serves the last good view.
   */
  readonly state: 'syncing' | 'synced' | 'down';
  /** When it last read the registry successfully (ms since epoch), if ever. */
  readonly lastSyncMs: number | undefined;
  /** The last error and when it happened; kept after recovery, for the record. */
  readonly lastError: string | undefined;
  readonly lastErrorMs: number | undefined;
  /** Since when it has been failing (ms since epoch), while `down`. */
  readonly downSinceMs: number | undefined;
  /** Services in its current (or last good) view. */
  readonly services: number;
}

/**
 * One platform's registry as Pilot runs it: a ServiceRegistry with a name, started and stopped
 * on Pilot's Lifecycle, that says how it is doing. Its services carry `registry: name`.
 */
export interface PlatformRegistry extends ServiceRegistry {
  readonly name: string;
  /**
   * Starts watching. Resolves once the first complete view is in (never, for a registry that
   * stays unreachable: its `notSynced()` and `status()` say why); Pilot does not wait for it.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): RegistryStatus;
}

export const emptyLocality: Locality = { region: '', zone: '', subzone: '' };

export function serviceHostname(name: string, namespace: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/**
 * A registry held in memory: the Kubernetes registry's backing store, and the one tests and the
 * bench fill by hand. Each change makes a new state that shares every untouched object.
 */
import type { Endpoint, RegistryState, Service, ServiceRegistry } from './service.ts';

export class MemoryRegistry implements ServiceRegistry {
  private services = new Map<string, Service>();
  private endpoints = new Map<string, readonly Endpoint[]>();
  /** Set once `current()` handed a map out: the next change to it copies it first. */
  private servicesShared = false;
  private endpointsShared = false;
  private state: RegistryState | undefined;
  private readonly listeners = new Set<() => void>();
  private synced: () => string | undefined = () => undefined;

  current(): RegistryState {
    if (!this.state) {
      this.state = { services: this.services, endpoints: this.endpoints };
      this.servicesShared = true;
      this.endpointsShared = true;
    }
    return this.state;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notSynced(): string | undefined {
    return this.synced();
  }

  /** Lets an owner (the Kubernetes registry) report its informers' sync state. */
  setSyncCheck(check: () => string | undefined): void {
    this.synced = check;
  }

  setService(svc: Service): void {
    this.batch((b) => {
      b.setService(svc);
    });
  }

  deleteService(hostname: string): void {
    if (!this.services.has(hostname) && !this.endpoints.has(hostname)) return;
    this.batch((b) => {
      b.deleteService(hostname);
    });
  }

  setEndpoints(hostname: string, eps: readonly Endpoint[]): void {
    this.batch((b) => {
      b.setEndpoints(hostname, eps);
    });
  }

  /** Tells listeners to look again (e.g. the registry just became synced). */
  notify(): void {
    for (const l of this.listeners) l();
  }

  /** Applies several changes with one notification. */
  batch(fn: (r: MemoryRegistryBatch) => void): void {
    // Copy on first write after `current()` handed the maps out; a map nobody wrote to keeps its
    // identity (generators reuse everything that depends only on the services).
    let services: Map<string, Service> | undefined;
    let endpoints: Map<string, readonly Endpoint[]> | undefined;
    const svcs = () => (services ??= this.servicesShared ? new Map(this.services) : this.services);
    const eps = () =>
      (endpoints ??= this.endpointsShared ? new Map(this.endpoints) : this.endpoints);
    fn({
      setService: (s) => svcs().set(s.hostname, s),
      deleteService: (h) => {
        if (this.services.has(h)) svcs().delete(h);
        if (this.endpoints.has(h)) eps().delete(h);
      },
      setEndpoints: (h, e) => eps().set(h, e),
    });
    if (services === undefined && endpoints === undefined) return;
    if (services) {
      this.services = services;
      this.servicesShared = false;
    }
    if (endpoints) {
      this.endpoints = endpoints;
      this.endpointsShared = false;
    }
    this.state = undefined;
    for (const l of this.listeners) l();
  }
}

export interface MemoryRegistryBatch {
  setService(svc: Service): void;
  deleteService(hostname: string): void;
  setEndpoints(hostname: string, eps: readonly Endpoint[]): void;
}

/**
 * The read side every platform registry shares: its view lives in a MemoryRegistry (`store`),
 * which `current()`, `onChange()` and `notSynced()` answer from. A registry extends it and fills
 * the store from its source.
 */
export class StoreRegistry implements ServiceRegistry {
  protected readonly store = new MemoryRegistry();

  current(): RegistryState {
    return this.store.current();
  }

  onChange(listener: () => void): () => void {
    return this.store.onChange(listener);
  }

  notSynced(): string | undefined {
    return this.store.notSynced();
  }
}

/**
 * A registry held in memory: the Kubernetes registry's backing store, and the one tests and the
 * bench fill by hand. Each change makes a new state that shares every untouched object.
 */
import type { Endpoint, RegistryState, Service, ServiceRegistry } from './service.ts';

export class MemoryRegistry implements ServiceRegistry {
  private services = new Map<string, Service>();
  private endpoints = new Map<string, readonly Endpoint[]>();
  private state: RegistryState | undefined;
  private readonly listeners = new Set<() => void>();
  private synced: () => string | undefined = () => undefined;

  current(): RegistryState {
    this.state ??= { services: this.services, endpoints: this.endpoints };
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
    this.services = new Map(this.services).set(svc.hostname, svc);
    this.changed();
  }

  deleteService(hostname: string): void {
    if (!this.services.has(hostname) && !this.endpoints.has(hostname)) return;
    this.services = new Map(this.services);
    this.services.delete(hostname);
    this.endpoints = new Map(this.endpoints);
    this.endpoints.delete(hostname);
    this.changed();
  }

  setEndpoints(hostname: string, eps: readonly Endpoint[]): void {
    this.endpoints = new Map(this.endpoints).set(hostname, eps);
    this.changed();
  }

  /** Applies several changes with one notification. */
  batch(fn: (r: MemoryRegistryBatch) => void): void {
    const services = new Map(this.services);
    const endpoints = new Map(this.endpoints);
    fn({
      setService: (s) => services.set(s.hostname, s),
      deleteService: (h) => {
        services.delete(h);
        endpoints.delete(h);
      },
      setEndpoints: (h, e) => endpoints.set(h, e),
    });
    this.services = services;
    this.endpoints = endpoints;
    this.changed();
  }

  private changed(): void {
    this.state = undefined;
    for (const l of this.listeners) l();
  }
}

export interface MemoryRegistryBatch {
  setService(svc: Service): void;
  deleteService(hostname: string): void;
  setEndpoints(hostname: string, eps: readonly Endpoint[]): void;
}

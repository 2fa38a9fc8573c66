/**
 * Writing a registry's freshly read services into its MemoryRegistry so that only what changed
 * changes: a service or endpoint list equal to the one held keeps the held object (generators
 * cache by identity), and a view with no change at all notifies nobody.
 */
import type { MemoryRegistry, MemoryRegistryBatch } from '../model/memory-registry.ts';
import type { Endpoint, RegistryState, Service } from '../model/service.ts';

/** One service as a registry read it: the service and its endpoints. */
export interface ServiceView {
  readonly service: Service;
  readonly endpoints: readonly Endpoint[];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Writes `view` unless the store already holds equal objects (those are kept). */
export function putService(b: MemoryRegistryBatch, held: RegistryState, view: ServiceView): void {
  const host = view.service.hostname;
  const svc = held.services.get(host);
  if (svc === undefined || !same(svc, view.service)) b.setService(view.service);
  const eps = held.endpoints.get(host);
  if (eps === undefined || !same(eps, view.endpoints)) b.setEndpoints(host, view.endpoints);
}

/**
 * Makes `store` hold exactly `views` (by hostname): changed services are written, vanished ones
 * deleted, equal ones left alone. One notification, or none when nothing changed.
 */
export function replaceServices(store: MemoryRegistry, views: ReadonlyMap<string, ServiceView>) {
  const held = store.current();
  store.batch((b) => {
    for (const host of held.services.keys()) if (!views.has(host)) b.deleteService(host);
    for (const view of views.values()) putService(b, held, view);
  });
}

/**
 * Several registries as one: what Pilot's discovery server reads when `--registries` names more
 * than one (Kubernetes, Consul, Eureka). Their services are merged by hostname in `--registries`
 * order; a hostname two registries both have is served from the first and reported (a warning
 * once, /debug/registryz, `pilot_registry_conflicts`), never merged. Every object comes through
 * as the member handed it out, and the merged maps are rebuilt only when a member's map changed,
 * so generators keep their per-object caches. The aggregate is synced once every member has had
 * its first complete view; after that a member that is down keeps serving its last good view.
 */
import type { Logger } from '../../lib/log.ts';
import type {
  Endpoint,
  PlatformRegistry,
  RegistryState,
  RegistryStatus,
  Service,
  ServiceRegistry,
} from '../model/service.ts';

/** A hostname more than one registry has: `served` is the one whose service Pilot serves. */
export interface RegistryConflict {
  readonly hostname: string;
  readonly served: string;
  readonly ignored: readonly string[];
}

/** What /debug/registryz, /ready and the metrics read. */
export interface RegistryReport {
  statuses(): RegistryStatus[];
  conflicts(): readonly RegistryConflict[];
}

/** A registry that stands in for a platform one (a test's MemoryRegistry as "Kubernetes"). */
export function standIn(registry: ServiceRegistry, name: string): PlatformRegistry {
  let syncedMs: number | undefined;
  return {
    name,
    current: () => registry.current(),
    onChange: (l) => registry.onChange(l),
    notSynced: () => registry.notSynced(),
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    status: () => {
      const synced = registry.notSynced() === undefined;
      if (synced) syncedMs ??= Date.now();
      return {
        name,
        source: undefined,
        state: synced ? 'synced' : 'syncing',
        lastSyncMs: syncedMs,
        lastError: undefined,
        lastErrorMs: undefined,
        downSinceMs: undefined,
        services: registry.current().services.size,
      };
    },
  };
}

export function plural(n: number, what: string): string {
  return `${String(n)} ${what}${n === 1 ? '' : 's'}`;
}

/** A one-line summary of a registry that is not serving a fresh view, or undefined. */
export function statusLine(s: RegistryStatus, now = Date.now()): string | undefined {
  const where = s.source === undefined ? s.name : `${s.name} (${s.source})`;
  if (s.state === 'down') {
    const since =
      s.downSinceMs === undefined
        ? ''
        : ` for ${String(Math.round((now - s.downSinceMs) / 1000))} s`;
    const served =
      s.lastSyncMs === undefined
        ? 'no view yet'
        : `serving its last good view (${plural(s.services, 'service')})`;
    return `${where}: down${since}, ${served}: ${s.lastError ?? 'unknown error'}`;
  }
  if (s.state === 'syncing') return `${where}: not synced yet`;
  return undefined;
}

export function conflictLine(c: RegistryConflict): string {
  return `${c.hostname}: in ${[c.served, ...c.ignored].join(' and ')}; ${c.served}'s is served (first in --registries)`;
}

export class AggregateRegistry implements ServiceRegistry, RegistryReport {
  private readonly members: readonly PlatformRegistry[];
  private readonly log: Logger;
  private last: readonly RegistryState[] = [];
  private merged: RegistryState | undefined;
  /** Hostname → index of the member whose service is served. */
  private owner = new Map<string, number>();
  private clashes: readonly RegistryConflict[] = [];
  private readonly warned = new Set<string>();

  constructor(members: readonly PlatformRegistry[], logger: Logger) {
    this.members = members;
    this.log = logger.child({ component: 'registries' });
  }

  current(): RegistryState {
    const states = this.members.map((m) => m.current());
    const single = states.length === 1 ? states[0] : undefined;
    if (single !== undefined) return single;
    const prev = this.last;
    if (this.merged && states.every((s, i) => s === prev[i])) return this.merged;
    const servicesSame =
      this.merged !== undefined && states.every((s, i) => s.services === prev[i]?.services);
    const endpointsSame =
      this.merged !== undefined && states.every((s, i) => s.endpoints === prev[i]?.endpoints);
    const services =
      servicesSame && this.merged ? this.merged.services : this.mergeServices(states);
    const endpoints =
      servicesSame && endpointsSame && this.merged
        ? this.merged.endpoints
        : this.mergeEndpoints(states);
    this.last = states;
    this.merged = { services, endpoints };
    return this.merged;
  }

  onChange(listener: () => void): () => void {
    const offs = this.members.map((m) => m.onChange(listener));
    return () => {
      for (const off of offs) off();
    };
  }

  /** Every member's reason, until each has had its first complete view. */
  notSynced(): string | undefined {
    const why = this.members.map((m) => m.notSynced()).filter((x) => x !== undefined);
    return why.length === 0 ? undefined : why.join('; ');
  }

  statuses(): RegistryStatus[] {
    return this.members.map((m) => m.status());
  }

  conflicts(): readonly RegistryConflict[] {
    if (this.members.length > 1) this.current();
    return this.clashes;
  }

  private mergeServices(states: readonly RegistryState[]): Map<string, Service> {
    const services = new Map<string, Service>();
    const owner = new Map<string, number>();
    const ignored = new Map<string, number[]>();
    states.forEach((s, i) => {
      for (const [host, svc] of s.services) {
        const first = owner.get(host);
        if (first === undefined) {
          owner.set(host, i);
          services.set(host, svc);
          continue;
        }
        let list = ignored.get(host);
        if (!list) ignored.set(host, (list = []));
        list.push(i);
      }
    });
    this.owner = owner;
    const name = (i: number) => this.members[i]?.name ?? String(i);
    const clashes = [...ignored]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([hostname, rest]) => ({
        hostname,
        served: name(owner.get(hostname) ?? 0),
        ignored: rest.map(name),
      }));
    const now = new Set<string>();
    for (const c of clashes) {
      const key = conflictLine(c);
      now.add(key);
      if (this.warned.has(key)) continue;
      this.warned.add(key);
      this.log.warn(
        { hostname: c.hostname, served: c.served, ignored: c.ignored },
        `registry conflict: ${key}`,
      );
    }
    // A clash that went away warns again if it comes back.
    for (const key of this.warned) if (!now.has(key)) this.warned.delete(key);
    this.clashes = clashes;
    return services;
  }

  private mergeEndpoints(states: readonly RegistryState[]): Map<string, readonly Endpoint[]> {
    const endpoints = new Map<string, readonly Endpoint[]>();
    states.forEach((s, i) => {
      for (const [host, eps] of s.endpoints) {
        const o = this.owner.get(host);
        // A service's endpoints come from the registry it is served from; endpoints of no
        // service (a Kubernetes slice before its Service) from the first that has them.
        if (o === i || (o === undefined && !endpoints.has(host))) endpoints.set(host, eps);
      }
    });
    return endpoints;
  }
}

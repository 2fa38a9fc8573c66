/**
 * The registry's endpoints by IP, for a sidecar's inbound side (the ports its IP serves) and its
 * source view (its labels and services). Kept from build to build: only the IPs of services whose
 * entry changed are looked at again, so a one-endpoint change does not walk every endpoint of the
 * mesh. Each build gets its own view, which later builds never change: a view holds only the IPs
 * its build changed, over the view before it, and every few builds the current state is copied
 * into a fresh base (copying all 10,000 IPs of a large mesh on every one-endpoint change cost a
 * build more than the rest of its work).
 */
import type { Labels } from '../config/model.ts';
import { isHttp, type Protocol } from '../model/protocol.ts';
import type { ServiceEntry } from './service-entry.ts';

export interface IpInfo {
  readonly ports: ReadonlyMap<number, Protocol>;
  /** The labels of the first endpoint at this IP (services in hostname order). */
  readonly labels: Labels;
  readonly services: ReadonlySet<string>;
}

/** Above this share of changed services, the index is rebuilt rather than patched. */
const patchShare = 0.25;

/** How many views may stack on a base before the next build copies the state into a new base. */
const maxDepth = 8;

/** What a build reads: the IP's info, or undefined when no endpoint of the mesh is there. */
export interface IpLookup {
  get(ip: string): IpInfo | undefined;
}

/** One build's view: its changes (null: the IP is gone) over the view before it. */
class IpView implements IpLookup {
  private readonly own: ReadonlyMap<string, IpInfo | null>;
  private readonly parent: IpView | undefined;
  readonly depth: number;

  constructor(own: ReadonlyMap<string, IpInfo | null>, parent: IpView | undefined, depth: number) {
    this.own = own;
    this.parent = parent;
    this.depth = depth;
  }

  get(ip: string): IpInfo | undefined {
    const info = this.own.get(ip);
    if (info !== undefined) return info ?? undefined;
    return this.parent?.get(ip);
  }
}

export class IpIndex {
  /** IP → hostnames of the services with an endpoint there. */
  private readonly hosts = new Map<string, Set<string>>();
  /** The current state, changed in place; views never point at it. */
  private readonly state = new Map<string, IpInfo>();
  private current = new IpView(new Map(), undefined, 0);
  private entries: ReadonlyMap<string, ServiceEntry> = new Map();

  /** The index for `entries` (by hostname), patched from the last call's. */
  update(entries: ReadonlyMap<string, ServiceEntry>): IpLookup {
    const before = this.entries;
    const touched = new Set<string>();
    let changed = 0;
    const unlink = (e: ServiceEntry) => {
      for (const ep of e.eps) {
        const hs = this.hosts.get(ep.address);
        hs?.delete(e.svc.hostname);
        if (hs?.size === 0) this.hosts.delete(ep.address);
        touched.add(ep.address);
      }
    };
    for (const [h, e] of entries) {
      const old = before.get(h);
      if (old === e) continue;
      changed++;
      if (old) unlink(old);
      for (const ep of e.eps) {
        let hs = this.hosts.get(ep.address);
        if (!hs) this.hosts.set(ep.address, (hs = new Set()));
        hs.add(h);
        touched.add(ep.address);
      }
    }
    for (const [h, old] of before) {
      if (!entries.has(h)) {
        changed++;
        unlink(old);
      }
    }
    this.entries = entries;
    if (changed === 0) return this.current;
    const rebuild = changed > patchShare * entries.size;
    if (rebuild) this.state.clear();
    const own = new Map<string, IpInfo | null>();
    for (const ip of rebuild ? this.hosts.keys() : touched) {
      const info = this.infoOf(ip);
      if (info) this.state.set(ip, info);
      else this.state.delete(ip);
      own.set(ip, info ?? null);
    }
    this.current =
      rebuild || this.current.depth >= maxDepth
        ? new IpView(new Map(this.state), undefined, 0)
        : new IpView(own, this.current, this.current.depth + 1);
    return this.current;
  }

  private infoOf(ip: string): IpInfo | undefined {
    const hs = this.hosts.get(ip);
    if (!hs || hs.size === 0) return undefined;
    const ports = new Map<number, Protocol>();
    let labels: Labels | undefined;
    const services = new Set<string>();
    for (const h of [...hs].sort()) {
      const e = this.entries.get(h);
      if (!e) continue;
      for (const ep of e.eps) {
        if (ep.address !== ip) continue;
        labels ??= ep.labels;
        services.add(h);
        const sp = e.svc.ports.find((p) => p.name === ep.servicePortName);
        if (sp === undefined || sp.protocol === 'UDP') continue;
        // Two services on one target port with different protocols: HTTP wins (TCP would lose
        // every HTTP feature of the other).
        const had = ports.get(ep.port);
        if (had === undefined || (!isHttp(had) && isHttp(sp.protocol)))
          ports.set(ep.port, sp.protocol);
      }
    }
    return labels === undefined ? undefined : { ports, labels, services };
  }
}

/**
 * The registry's endpoints by IP, for a sidecar's inbound side (the ports its IP serves) and its
 * source view (its labels and services). Kept from build to build: only the IPs of services whose
 * entry changed are looked at again, so a one-endpoint change does not walk every endpoint of the
 * mesh. Each build gets its own map (the previous one is copied, not changed).
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

export class IpIndex {
  /** IP → hostnames of the services with an endpoint there. */
  private readonly hosts = new Map<string, Set<string>>();
  private current: ReadonlyMap<string, IpInfo> = new Map();
  private entries: ReadonlyMap<string, ServiceEntry> = new Map();

  /** The index for `entries` (by hostname), patched from the last call's. */
  update(entries: ReadonlyMap<string, ServiceEntry>): ReadonlyMap<string, IpInfo> {
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
    const next = rebuild ? new Map<string, IpInfo>() : new Map(this.current);
    for (const ip of rebuild ? this.hosts.keys() : touched) {
      const info = this.infoOf(ip);
      if (info) next.set(ip, info);
      else next.delete(ip);
    }
    this.current = next;
    return next;
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

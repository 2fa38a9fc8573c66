/**
 * WorkloadEntry auto-registration (modern Istio's, for VMs): a proxy whose node metadata carries
 * `AUTO_REGISTER_GROUP: <name>` (the agent sends `ISTIO_META_AUTO_REGISTER_GROUP`) gets the
 * WorkloadEntry `<group>-<ip>` in its namespace, made from the WorkloadGroup's template (labels:
 * the template's, then the group's `metadata.labels`; annotations: the group's) and owned by the
 * group. Annotations say who holds it and since when:
 *
 * - `istio.io/autoRegistrationGroup`: the group it was made from;
 * - `istio.io/workloadController`: the Pilot instance the proxy is connected to;
 * - `istio.io/connectedAt` / `istio.io/disconnectedAt`: RFC 3339 times.
 *
 * When the proxy's last stream to this Pilot ends, the entry is marked disconnected and deleted
 * once the grace period (`--workloadEntryGracePeriod`, 10 s) has passed without a
 * reconnection (to any Pilot: a reconnection clears `disconnectedAt`). A sweep every grace period
 * deletes entries left disconnected past it (this Pilot restarted meanwhile) and marks
 * disconnected the entries this instance holds for proxies it no longer has. Writes for one entry
 * run one at a time; failures are logged and retried by the next event or sweep.
 */
import { FieldReader } from '../../lib/config/field-reader.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { KubeHttp } from '../../lib/kube/http.ts';
import type { Logger } from '../../lib/log.ts';
import {
  WorkloadEntryGroup,
  WorkloadEntryPlural,
  WorkloadEntryVersion,
  WorkloadGroupPlural,
  parseWorkloadEntrySpec,
  workloadEntryName,
  workloadEntrySpecJson,
} from '../../lib/workload-entry.ts';
import type { Proxy, ProxyObserver } from '../model/proxy.ts';
import { AutoRegisterAnnotation as A, entryState, type EntryMeta } from './auto-register-state.ts';

export interface AutoRegistrationOptions {
  readonly http: KubeHttp;
  readonly logger: Logger;
  /** This Pilot's name in `istio.io/workloadController` (its pod name). */
  readonly instance: string;
  readonly gracePeriodMs: number;
}

const api = `/apis/${WorkloadEntryGroup}/${WorkloadEntryVersion}`;
const entryPath = (ns: string, name = '') =>
  `${api}/namespaces/${ns}/${WorkloadEntryPlural}${name === '' ? '' : `/${name}`}`;

export class AutoRegistration implements ProxyObserver {
  private readonly o: AutoRegistrationOptions;
  private readonly log: Logger;
  /** Entry (`ns/name`) → streams of this Pilot its proxy has open. */
  private readonly streams = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(o: AutoRegistrationOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'auto-registration' });
  }

  start(): void {
    this.sweeper = setInterval(() => {
      void this.sweep();
    }, this.o.gracePeriodMs);
    void this.sweep();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.chains.values());
  }

  connected(proxy: Proxy): void {
    const target = this.target(proxy);
    if (!target) return;
    const { key, ns, name, group } = target;
    this.streams.set(key, (this.streams.get(key) ?? 0) + 1);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.run(key, () => this.register(ns, name, group, target.ip, proxy.id));
  }

  disconnected(proxy: Proxy): void {
    const target = this.target(proxy);
    if (!target) return;
    const { key, ns, name } = target;
    const left = (this.streams.get(key) ?? 1) - 1;
    if (left > 0) {
      this.streams.set(key, left);
      return;
    }
    this.streams.delete(key);
    this.run(key, () => this.markDisconnected(ns, name));
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.run(key, () => this.removeIfStale(ns, name));
    }, this.o.gracePeriodMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  private target(proxy: Proxy) {
    const group = proxy.metadata['AUTO_REGISTER_GROUP'];
    if (typeof group !== 'string' || group === '' || proxy.ip === undefined) return undefined;
    if (proxy.kind !== 'sidecar') return undefined;
    const name = workloadEntryName(group, proxy.ip);
    return { key: `${proxy.namespace}/${name}`, ns: proxy.namespace, name, group, ip: proxy.ip };
  }

  /** Runs writes for one entry in order; a failure is logged, never thrown. */
  private run(key: string, step: () => Promise<void>): void {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev
      .then(() => (this.stopped ? undefined : step()))
      .catch((e: unknown) => {
        this.log.warn(
          { workloadEntry: key, err: errorMessage(e) },
          'auto-registration step failed',
        );
      })
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  private async request(method: string, path: string, body?: unknown, patch = false) {
    const res = await this.o.http.request(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      patch ? 'application/merge-patch+json' : 'application/json',
    );
    return res;
  }

  private async get(ns: string, name: string): Promise<EntryMeta | undefined> {
    const res = await this.request('GET', entryPath(ns, name));
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw new Error(`GET WorkloadEntry: HTTP ${String(res.status)} ${res.body}`);
    return entryState(JSON.parse(res.body) as unknown);
  }

  private async register(ns: string, name: string, group: string, ip: string, proxyId: string) {
    const res = await this.request(
      'GET',
      `${api}/namespaces/${ns}/${WorkloadGroupPlural}/${group}`,
    );
    if (res.status === 404) {
      this.log.warn(
        { proxy: proxyId, group: `${ns}/${group}` },
        'WorkloadGroup not found: proxy not registered',
      );
      return;
    }
    if (res.status !== 200)
      throw new Error(`GET WorkloadGroup: HTTP ${String(res.status)} ${res.body}`);
    const wg = JSON.parse(res.body) as { metadata?: { uid?: string }; spec?: unknown };
    const spec = new FieldReader(wg.spec, { path: 'spec', what: `WorkloadGroup ${ns}/${group}` });
    const meta = spec.object('metadata');
    const labels = Object.fromEntries(meta.stringMap('labels'));
    const annotations = Object.fromEntries(meta.stringMap('annotations'));
    meta.done();
    const template = parseWorkloadEntrySpec(spec.object('template'), 'template');
    spec.done();
    const now = new Date().toISOString();
    const held = { [A.group]: group, [A.controller]: this.o.instance, [A.connectedAt]: now };
    const entry = {
      apiVersion: `${WorkloadEntryGroup}/${WorkloadEntryVersion}`,
      kind: 'WorkloadEntry',
      metadata: {
        name,
        namespace: ns,
        labels: { ...template.labels, ...labels },
        annotations: { ...annotations, ...held },
        ownerReferences: [
          {
            apiVersion: `${WorkloadEntryGroup}/${WorkloadEntryVersion}`,
            kind: 'WorkloadGroup',
            name: group,
            uid: wg.metadata?.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: workloadEntrySpecJson({
        ...template,
        address: ip,
        labels: { ...template.labels, ...labels },
      }),
    };
    const created = await this.request('POST', entryPath(ns), entry);
    if (created.status === 201 || created.status === 200) {
      this.log.info({ workloadEntry: `${ns}/${name}`, proxy: proxyId }, 'WorkloadEntry registered');
      return;
    }
    if (created.status !== 409) {
      throw new Error(`create WorkloadEntry: HTTP ${String(created.status)} ${created.body}`);
    }
    // It exists (a reconnection, or another Pilot held it): take it over.
    const patched = await this.request(
      'PATCH',
      entryPath(ns, name),
      { metadata: { annotations: { ...held, [A.disconnectedAt]: null } } },
      true,
    );
    if (patched.status !== 200) throw new Error(`mark connected: HTTP ${String(patched.status)}`);
    this.log.info({ workloadEntry: `${ns}/${name}`, proxy: proxyId }, 'WorkloadEntry reconnected');
  }

  private async markDisconnected(ns: string, name: string): Promise<void> {
    const e = await this.get(ns, name);
    // Another Pilot holds it now (the proxy moved): not this one's to mark.
    if (!e || e.controller !== this.o.instance || e.disconnectedAt !== undefined) return;
    const body = {
      metadata: {
        resourceVersion: e.resourceVersion,
        annotations: { [A.disconnectedAt]: new Date().toISOString() },
      },
    };
    const res = await this.request('PATCH', entryPath(ns, name), body, true);
    if (res.status !== 200 && res.status !== 409 && res.status !== 404) {
      throw new Error(`mark disconnected: HTTP ${String(res.status)}`);
    }
  }

  private async removeIfStale(ns: string, name: string): Promise<void> {
    if (this.streams.has(`${ns}/${name}`)) return;
    const e = await this.get(ns, name);
    if (!e?.disconnectedAt) return;
    if (Date.now() - e.disconnectedAt < this.o.gracePeriodMs) return;
    const res = await this.request('DELETE', entryPath(ns, name), {
      preconditions: { resourceVersion: e.resourceVersion },
    });
    if (res.status === 200 || res.status === 202) {
      this.log.info(
        { workloadEntry: `${ns}/${name}` },
        'WorkloadEntry removed: disconnected past the grace period',
      );
    } else if (res.status !== 404 && res.status !== 409) {
      throw new Error(`delete WorkloadEntry: HTTP ${String(res.status)}`);
    }
  }

  /** Entries left behind: disconnected past the grace period, or held by this instance for nobody. */
  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      const res = await this.request('GET', `${api}/${WorkloadEntryPlural}`);
      if (res.status === 404) return; // CRD not installed
      if (res.status !== 200) throw new Error(`list WorkloadEntries: HTTP ${String(res.status)}`);
      const items = (JSON.parse(res.body) as { items?: unknown[] }).items ?? [];
      for (const item of items) {
        const e = entryState(item);
        if (e?.group === undefined) continue;
        const key = `${e.namespace}/${e.name}`;
        if (this.streams.has(key) || this.chains.has(key)) continue;
        if (e.disconnectedAt !== undefined) {
          this.run(key, () => this.removeIfStale(e.namespace, e.name));
        } else if (e.controller === this.o.instance) {
          this.run(key, () => this.markDisconnected(e.namespace, e.name));
        }
      }
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, 'auto-registration sweep failed');
    }
  }
}

/**
 * The Consul registry: every service in Consul's catalog is the mesh service
 * `<name>.service.consul`, its instances the endpoints.
 *
 * Mapping (Istio 0.2's `platform/consul`, with its gaps filled): a tag `key|value` is a label
 * (other tags are ignored); the port's protocol is the instance's metadata `protocol` (service
 * meta, else node meta as in 0.2; absent: http; a word 0.2 did not know: tcp); the address is the
 * instance's own, else its node's; a port is named by its number. There are no service accounts.
 *
 * Watching: Consul's blocking queries. One loop blocks on `/v1/catalog/services` (services
 * registered or gone); one loop per service blocks on `/v1/health/service/<name>` (its instances
 * and their checks), so a registration, a deregistration or a failing check arrives as soon as
 * Consul has it and costs one small read of that service. An instance is ready (in EDS) only
 * while all its checks pass. Each loop retries with a capped backoff; when the catalog loop gets
 * an answer again after an outage it wakes the others, and all read again from index 0.
 *
 * Why a loop per service: it is what Consul's own tools do (consul-template, Consul's agent
 * cache), each answer holds one service, and health changes (which do not move the catalog's
 * index) arrive without reading the whole catalog. The cost is one open connection per service:
 * Consul's `limits.http_max_conns_per_client` (default 200) bounds the catalog a Pilot can watch
 * from one address; raise it for larger catalogs.
 */
import type { Logger } from '../../lib/log.ts';
import { MemoryRegistry } from '../model/memory-registry.ts';
import type { Protocol } from '../model/protocol.ts';
import {
  emptyLocality,
  type Endpoint,
  type PlatformRegistry,
  type RegistryState,
  type RegistryStatus,
  type ServicePort,
} from '../model/service.ts';
import {
  consulIndex,
  nextIndex,
  parseCatalogServices,
  parseHealthService,
  type ConsulHealthEntry,
} from './consul-wire.ts';
import { getJson } from './http.ts';
import { WarnOnce, isIpAddress, protocolWord, type Warn } from './mapping.ts';
import {
  Backoff,
  SyncTracker,
  Waker,
  aborted,
  defaultRetry,
  type RetryOptions,
} from './sync-tracker.ts';
import { putService, type ServiceView } from './view.ts';

export const ConsulRegistryName = 'Consul';

/** The mesh host of a Consul service (Consul's DNS name for it, without a datacenter). */
export function consulHostname(name: string): string {
  return `${name}.service.consul`;
}

/** Labels from tags written `key|value` (split at the first `|`); other tags are not labels. */
export function consulLabels(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags) {
    const i = tag.indexOf('|');
    if (i <= 0) continue;
    out[tag.slice(0, i)] = tag.slice(i + 1);
  }
  return out;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** The protocol of an instance's port: metadata `protocol`, service meta first, else http. */
export function consulProtocol(e: ConsulHealthEntry, warn: Warn): Protocol {
  const word =
    nonEmpty(e.service.meta.get('protocol')) ?? nonEmpty(e.node.meta.get('protocol')) ?? 'http';
  const p = protocolWord(word);
  if (p !== undefined) return p;
  warn(
    `protocol|${word}`,
    `protocol "${word}" (instance ${e.service.id}) is not one of tcp, udp, grpc, http, http2, https, mongo, redis: tcp`,
  );
  return 'TCP';
}

/**
 * One Consul service as a mesh service and its endpoints; undefined when no instance has a port
 * and an IP address. Instances are taken in (node, id) order, so when two disagree on a port's
 * protocol the same one wins every time.
 */
export function consulServiceView(
  name: string,
  entries: readonly ConsulHealthEntry[],
  warn: Warn,
): ServiceView | undefined {
  const hostname = consulHostname(name);
  const sorted = [...entries].sort((a, b) =>
    a.node.node !== b.node.node
      ? a.node.node < b.node.node
        ? -1
        : 1
      : a.service.id < b.service.id
        ? -1
        : a.service.id > b.service.id
          ? 1
          : 0,
  );
  const ports = new Map<number, ServicePort>();
  const endpoints: Endpoint[] = [];
  for (const e of sorted) {
    const s = e.service;
    const where = `instance ${s.id} of ${hostname} on node ${e.node.node}`;
    if (s.port === 0) {
      warn(`noport|${hostname}|${s.id}`, `${where} has no port: left out`);
      continue;
    }
    const address = s.address !== '' ? s.address : e.node.address;
    if (!isIpAddress(address)) {
      warn(
        `address|${hostname}|${s.id}|${address}`,
        `${where}: "${address}" is not an IP: left out`,
      );
      continue;
    }
    const protocol = consulProtocol(e, warn);
    const had = ports.get(s.port);
    if (had === undefined) {
      ports.set(s.port, { name: String(s.port), port: s.port, protocol });
    } else if (had.protocol !== protocol) {
      warn(
        `conflict|${hostname}|${String(s.port)}|${protocol}`,
        `${where} says port ${String(s.port)} is ${protocol}, an earlier instance ${had.protocol}: ${had.protocol} kept`,
      );
    }
    endpoints.push({
      address,
      port: s.port,
      servicePortName: String(s.port),
      ready: e.checks.every((c) => c.status === 'passing'),
      locality: emptyLocality,
      weight: 1,
      labels: consulLabels(s.tags),
      serviceAccount: undefined,
      tlsMode: 'disabled',
      pod: undefined,
    });
  }
  if (ports.size === 0) return undefined;
  return {
    service: {
      hostname,
      name,
      namespace: '',
      clusterIP: undefined,
      ports: [...ports.values()].sort((a, b) => a.port - b.port),
      registry: ConsulRegistryName,
    },
    endpoints,
  };
}

export interface ConsulRegistryOptions {
  /** The Consul HTTP API (`http://consul:8500`). */
  readonly url: string;
  readonly logger: Logger;
  /** How long a blocking query waits for a change (default 30 s); Consul adds up to 1/16. */
  readonly waitMs?: number;
  /** Deadline of a request that does not block (default 10 s). */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
}

/** A per-service loop: its stop switch and whether its first answer is in. */
interface ServiceWatch {
  readonly abort: AbortController;
  done: Promise<void>;
  fetched: boolean;
}

export class ConsulRegistry implements PlatformRegistry {
  readonly name = ConsulRegistryName;
  private readonly store = new MemoryRegistry();
  private readonly url: string;
  private readonly log: Logger;
  private readonly waitMs: number;
  private readonly timeoutMs: number;
  private readonly retry: RetryOptions;
  private readonly tracker: SyncTracker;
  private readonly waker = new Waker();
  private readonly warned = new WarnOnce();
  private readonly stopping = new AbortController();
  private readonly watches = new Map<string, ServiceWatch>();
  private catalogRead = false;
  private catalogLoop: Promise<void> | undefined;
  private resolveSynced: () => void = () => undefined;
  private readonly synced = new Promise<void>((resolve) => {
    this.resolveSynced = resolve;
  });

  constructor(o: ConsulRegistryOptions) {
    this.url = o.url.replace(/\/+$/, '');
    this.log = o.logger.child({ component: 'consul-registry' });
    this.waitMs = o.waitMs ?? 30_000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.retry = { ...defaultRetry, ...o.retry };
    this.tracker = new SyncTracker(this.name, this.url, this.log);
    this.store.setSyncCheck(() => this.tracker.notSynced());
  }

  start(): Promise<void> {
    this.catalogLoop ??= this.watchCatalog();
    return this.synced;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.resolveSynced();
    for (const w of this.watches.values()) w.abort.abort();
    await Promise.all([this.catalogLoop, ...[...this.watches.values()].map((w) => w.done)]);
  }

  current(): RegistryState {
    return this.store.current();
  }

  onChange(listener: () => void): () => void {
    return this.store.onChange(listener);
  }

  notSynced(): string | undefined {
    return this.store.notSynced();
  }

  status(): RegistryStatus {
    return this.tracker.status();
  }

  private warn: Warn = (key, message) => {
    if (this.warned.first(key)) this.log.warn({ registry: this.name }, message);
  };

  /** A blocking read: answers at once with index 0, else when something changed or after `wait`. */
  private async read(path: string, index: number, signal: AbortSignal) {
    const sep = path.includes('?') ? '&' : '?';
    const url =
      index > 0
        ? `${this.url}${path}${sep}index=${String(index)}&wait=${String(Math.ceil(this.waitMs / 1000))}s`
        : `${this.url}${path}`;
    // Consul may wait up to wait + wait/16 before answering.
    const timeoutMs = index > 0 ? this.waitMs + this.waitMs / 16 + this.timeoutMs : this.timeoutMs;
    const started = Date.now();
    const res = await getJson(url, { registry: this.name, timeoutMs, signal });
    const what = `${this.name} ${url}`;
    const got = consulIndex(res.headers.get('x-consul-index'), what);
    return { body: res.body, what, got, tookMs: Date.now() - started };
  }

  /**
   * Waits before the next blocking read when a server answered at once without a newer index (a
   * real Consul would have waited): never a hot loop against something that is not quite Consul.
   */
  private async pace(asked: number, got: number, tookMs: number, signal: AbortSignal) {
    if (asked > 0 && got === asked && tookMs < 1000) {
      await this.waker.wait(1000 - tookMs, signal);
    }
  }

  private async watchCatalog(): Promise<void> {
    const signal = this.stopping.signal;
    const backoff = new Backoff(this.retry);
    let index = 0;
    let failing = false;
    while (!aborted(signal)) {
      try {
        const r = await this.read('/v1/catalog/services', index, signal);
        const names = parseCatalogServices(r.body, r.what);
        const asked = index;
        index = nextIndex(index, r.got);
        backoff.reset();
        this.tracker.ok();
        // Consul answers again: the service loops stop waiting and read everything again.
        if (failing) this.waker.wakeAll();
        failing = false;
        this.setServices(names);
        this.catalogRead = true;
        this.checkSynced();
        await this.pace(asked, r.got, r.tookMs, signal);
      } catch (e) {
        if (aborted(signal)) break;
        index = 0;
        failing = true;
        const delay = backoff.next();
        this.tracker.failed(e, delay);
        await this.waker.wait(delay, signal);
      }
    }
  }

  /** Starts a loop for each new service, stops (and forgets) those no longer in the catalog. */
  private setServices(names: readonly string[]): void {
    const keep = new Set(names);
    const gone: string[] = [];
    for (const [name, w] of this.watches) {
      if (keep.has(name)) continue;
      w.abort.abort();
      this.watches.delete(name);
      this.tracker.forget(name);
      gone.push(name);
    }
    if (gone.length > 0) {
      this.store.batch((b) => {
        for (const name of gone) b.deleteService(consulHostname(name));
      });
    }
    for (const name of names) {
      if (this.watches.has(name)) continue;
      const w: ServiceWatch = {
        abort: new AbortController(),
        done: Promise.resolve(),
        fetched: false,
      };
      this.watches.set(name, w);
      w.done = this.watchService(name, w);
    }
    this.tracker.setServices(this.store.current().services.size);
  }

  private async watchService(name: string, w: ServiceWatch): Promise<void> {
    const signal = AbortSignal.any([this.stopping.signal, w.abort.signal]);
    const backoff = new Backoff(this.retry);
    const path = `/v1/health/service/${encodeURIComponent(name)}`;
    let index = 0;
    while (!aborted(signal)) {
      try {
        const r = await this.read(path, index, signal);
        const entries = parseHealthService(r.body, r.what);
        const asked = index;
        index = nextIndex(index, r.got);
        backoff.reset();
        if (aborted(signal)) break;
        this.tracker.ok(name);
        this.apply(name, entries);
        if (!w.fetched) {
          w.fetched = true;
          this.checkSynced();
        }
        await this.pace(asked, r.got, r.tookMs, signal);
      } catch (e) {
        if (aborted(signal)) break;
        index = 0;
        const delay = backoff.next();
        this.tracker.failed(e, delay, name);
        await this.waker.wait(delay, signal);
      }
    }
  }

  private apply(name: string, entries: readonly ConsulHealthEntry[]): void {
    const view = consulServiceView(name, entries, this.warn);
    const held = this.store.current();
    this.store.batch((b) => {
      if (view === undefined) b.deleteService(consulHostname(name));
      else putService(b, held, view);
    });
    this.tracker.setServices(this.store.current().services.size);
  }

  /** The first view is complete once the catalog and every service in it have been read. */
  private checkSynced(): void {
    if (this.tracker.hasSynced || !this.catalogRead) return;
    for (const w of this.watches.values()) if (!w.fetched) return;
    this.tracker.firstSync(this.store.current().services.size);
    this.store.notify();
    this.resolveSynced();
  }
}

/**
 * The Consul registry: every service in Consul's catalog is the mesh service
 * `<name>.service.consul`, its instances the endpoints.
 *
 * Mapping (Istio 0.2's `platform/consul`, with its gaps filled): a tag `key|value` is a label
 * (other tags are ignored); the port's protocol is the instance's metadata `protocol` (service
 * meta, else node meta as in 0.2; absent: http; a word 0.2 did not know: tcp); the address is the
 * instance's own, else its node's; a port is named by its number. There are no service accounts.
 *
 * Watching: a small, fixed number of connections, however large the catalog. Three blocking
 * queries cover everything a service's view is made of:
 *  - `/v1/catalog/services` (names and tags): its index moves on any instance registered,
 *    deregistered or changed (Consul's services table), and on a service check's change;
 *  - `/v1/health/state/any` (every check: node, service, id, status, ModifyIndex): moves on any
 *    check change;
 *  - `/v1/catalog/nodes` (address and metadata per node, which give an instance its address and
 *    its protocol): moves on a node registered or changed.
 * Each service has a signature made of what those say about it: its tags, its checks (node,
 * service id, check id, status, ModifyIndex), and for each node it has an instance on (as last
 * read, or named by one of its checks) the node's address, metadata and node-level checks (an
 * instance is ready only while all its checks pass, its node's too, e.g. serfHealth: what
 * `/v1/health/service/<name>` returns). When an answer brings a new index, one round reads
 * `/v1/health/service/<name>` (not blocking) for the services that are new or whose signature
 * changed, at most `concurrency` (16) at a time over keep-alive connections; services gone from
 * the catalog are dropped. What a signature cannot see (an instance registered without a check, an
 * address changed without its check being written again) still moves the catalog's index: when it
 * moved and none of the services read in the round carries that index (Consul's per-service index
 * of `/v1/health/service/<name>` is the last write touching the service), every service is read
 * again. When the catalog moved past the checks' index the checks are read once more (not
 * blocking) first, so a round never compares new tags with old checks. Answers arriving while a
 * round runs are merged into one next round. Unchanged services and endpoint lists keep their
 * objects (`putService`), and a round is one store update.
 *
 * Connections: 3 blocking queries + at most `concurrency` reads (19 by default), well inside
 * Consul's `limits.http_max_conns_per_client` (200), whatever the number of services. The price
 * is reading every check in the datacenter on each check change (a few hundred bytes per check;
 * Consul's anti-entropy does not write output-only changes of agent checks more often than every
 * `check_update_interval`, 5 min), and a read of every service after a change the signatures
 * cannot see (rare: a registration without checks).
 *
 * Failures: each query and each service read retries with a capped backoff; the registry keeps
 * its last good view, logs one warning per outage (the tracker knows which loops fail), and when
 * a query answers again after failing, the others are woken and every service is read again.
 */
import type { Agent } from 'node:http';
import type { Logger } from '../../lib/log.ts';
import { StoreRegistry } from '../model/memory-registry.ts';
import type { PlatformRegistry, RegistryStatus } from '../model/service.ts';
import { ConsulReader, Kick } from './consul-blocking.ts';
import {
  nextIndex,
  parseCatalogNodes,
  parseCatalogServiceTags,
  parseHealthChecks,
  parseHealthService,
  type ConsulHealthCheck,
  type ConsulHealthEntry,
  type ConsulNode,
} from './consul-wire.ts';
import { boundedAgent } from './http.ts';
import { WarnOnce, type Warn } from './mapping.ts';
import {
  Backoff,
  SyncTracker,
  Waker,
  aborted,
  defaultRetry,
  type RetryOptions,
} from './sync-tracker.ts';
import { putService } from './view.ts';
import { ConsulRegistryName, consulHostname, consulServiceView } from './consul-mapping.ts';

export {
  ConsulRegistryName,
  consulHostname,
  consulLabels,
  consulProtocol,
  consulServiceView,
} from './consul-mapping.ts';
import { consulSignature, indexChecks, type Signature } from './consul-signature.ts';

export interface ConsulRegistryOptions {
  /** The Consul HTTP API (`http://consul:8500`). */
  readonly url: string;
  readonly logger: Logger;
  /** How long a blocking query waits for a change (default 30 s); Consul adds up to 1/16. */
  readonly waitMs?: number;
  /** Deadline of a request that does not block (default 10 s). */
  readonly timeoutMs?: number;
  /** How many services are read at once (default 16). */
  readonly concurrency?: number;
  readonly retry?: Partial<RetryOptions>;
}

const servicesPath = '/v1/catalog/services';
const checksPath = '/v1/health/state/any';
const nodesPath = '/v1/catalog/nodes';

function servicePath(name: string): string {
  return `/v1/health/service/${encodeURIComponent(name)}`;
}

/** What was last read of a service: its signature then, and the nodes of its instances. */
interface Held {
  readonly sig: Signature;
  readonly nodes: readonly string[];
}

type Read = { entries: ConsulHealthEntry[] } | { error: unknown };

export class ConsulRegistry extends StoreRegistry implements PlatformRegistry {
  readonly name = ConsulRegistryName;
  private readonly log: Logger;
  private readonly concurrency: number;
  /** Keep-alive, at most 3 watches + `concurrency` reads: the connections Consul sees. */
  private readonly agent: Agent;
  private readonly retry: RetryOptions;
  private readonly tracker: SyncTracker;
  private readonly waker = new Waker();
  private readonly kick = new Kick();
  private readonly reader: ConsulReader;
  private readonly warned = new WarnOnce();
  private readonly stopping = new AbortController();
  private loops: Promise<void>[] = [];
  private started = false;
  private watchingChecks = false;
  /** The latest answers of the three queries, and their indexes. */
  private services: ReadonlyMap<string, readonly string[]> | undefined;
  private servicesIndex = 0;
  private checks: readonly ConsulHealthCheck[] | undefined;
  private checksIndex = 0;
  /** The catalog index the checks were last read (not blocking) to be at least as new as. */
  private checksFreshFor = 0;
  private nodes: ReadonlyMap<string, ConsulNode> | undefined;
  /** The catalog index the last round acted on. */
  private doneServicesIndex = 0;
  /**
   * The highest index carried by a read of a service that was new or whose own signature changed,
   * since the catalog index last went backwards: a catalog index up to it is explained (Consul's
   * index of `/v1/health/service/<name>` is the last write touching that service). Reads made
   * only because a node changed do not count: a node's write moves the index of every service on
   * it.
   */
  private seenIndex = 0;
  private readonly held = new Map<string, Held>();
  /** Services whose last read failed: read again next round. */
  private readonly dirty = new Set<string>();
  /** Read every service next round (after an outage, or Consul's state was reset). */
  private readAll = false;
  private resolveSynced: () => void = () => undefined;
  private readonly synced = new Promise<void>((resolve) => {
    this.resolveSynced = resolve;
  });

  constructor(o: ConsulRegistryOptions) {
    super();
    const url = o.url.replace(/\/+$/, '');
    this.log = o.logger.child({ component: 'consul-registry' });
    this.concurrency = Math.max(1, o.concurrency ?? 16);
    this.agent = boundedAgent(url, 3 + this.concurrency);
    this.retry = { ...defaultRetry, ...o.retry };
    this.tracker = new SyncTracker(this.name, url, this.log);
    this.reader = new ConsulReader({
      name: this.name,
      url,
      waitMs: o.waitMs ?? 30_000,
      timeoutMs: o.timeoutMs ?? 10_000,
      agent: this.agent,
      waker: this.waker,
    });
    this.store.setSyncCheck(() => this.tracker.notSynced());
  }

  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.loops.push(
        this.watch(servicesPath, '', (body, what, got) => {
          const services = parseCatalogServiceTags(body, what);
          if (got < this.servicesIndex) {
            // Consul's state was reset (a restarted agent): compare nothing with the past.
            this.readAll = true;
            this.seenIndex = 0;
          }
          this.services = services;
          this.servicesIndex = got;
          // The checks and nodes are watched once the catalog answers (so that, before that, the
          // registry's error is the catalog's).
          if (!this.watchingChecks) {
            this.watchingChecks = true;
            this.loops.push(
              this.watch(checksPath, checksPath, (b, w, g) => {
                this.checks = parseHealthChecks(b, w);
                this.checksIndex = g;
              }),
              this.watch(nodesPath, nodesPath, (b, w) => {
                this.nodes = new Map(parseCatalogNodes(b, w).map((n) => [n.node, n]));
              }),
            );
          }
        }),
        this.syncLoop(),
      );
    }
    return this.synced;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.resolveSynced();
    await Promise.all(this.loops);
    this.agent.destroy();
  }

  status(): RegistryStatus {
    return this.tracker.status();
  }

  private warn: Warn = (key, message) => {
    if (this.warned.first(key)) this.log.warn({ registry: this.name }, message);
  };

  /**
   * One blocking query, forever: `take` parses an answer and keeps it (throwing on a bad one);
   * every answer kicks the sync loop. `loop` names it to the tracker ('' for the catalog's).
   */
  private async watch(
    path: string,
    loop: string,
    take: (body: unknown, what: string, got: number) => void,
  ): Promise<void> {
    const signal = this.stopping.signal;
    const backoff = new Backoff(this.retry);
    let index = 0;
    let failing = false;
    while (!aborted(signal)) {
      try {
        const r = await this.reader.read(path, index, signal);
        if (aborted(signal)) break;
        take(r.body, r.what, r.got);
        const asked = index;
        index = nextIndex(index, r.got);
        backoff.reset();
        this.tracker.ok(loop);
        if (failing) {
          // Consul answers again: the other loops stop waiting, and every service is read again.
          failing = false;
          this.readAll = true;
          this.waker.wakeAll();
        }
        this.kick.kick();
        await this.reader.pace(asked, r.got, r.tookMs, signal);
      } catch (e) {
        if (aborted(signal)) break;
        index = 0;
        failing = true;
        const delay = backoff.next();
        this.tracker.failed(e, delay, loop);
        await this.waker.wait(delay, signal);
      }
    }
  }

  /** Runs a round whenever a query answered (merged while one runs); failed reads back off. */
  private async syncLoop(): Promise<void> {
    const signal = this.stopping.signal;
    const backoff = new Backoff(this.retry);
    while (!aborted(signal)) {
      await this.kick.next(signal);
      if (aborted(signal)) break;
      const failures = await this.round(signal);
      if (aborted(signal)) break;
      if (failures.length === 0) {
        backoff.reset();
        continue;
      }
      const delay = backoff.next();
      for (const f of failures) this.tracker.failed(f.error, delay, f.loop);
      await this.waker.wait(delay, signal);
      this.kick.kick();
    }
  }

  /** Reads `names` (at most `concurrency` at a time) into `out`; `explain`: see `seenIndex`. */
  private async readServices(
    names: readonly string[],
    explain: ReadonlySet<string>,
    out: Map<string, Read>,
    signal: AbortSignal,
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < names.length && !aborted(signal)) {
        const name = names[next++] ?? '';
        try {
          const r = await this.reader.read(servicePath(name), 0, signal);
          const entries = parseHealthService(r.body, r.what);
          if (explain.has(name)) this.seenIndex = Math.max(this.seenIndex, r.got);
          out.set(name, { entries });
        } catch (error) {
          out.set(name, { error });
        }
      }
    };
    const n = Math.min(this.concurrency, names.length);
    await Promise.all(Array.from({ length: n }, worker));
  }

  /**
   * One round: reads the services whose signature changed (all of them when the catalog moved and
   * nothing read explains it), drops those gone, writes the store once. Returns the failed reads.
   */
  private async round(signal: AbortSignal): Promise<{ loop: string; error: unknown }[]> {
    const services = this.services;
    const nodes = this.nodes;
    if (services === undefined || this.checks === undefined || nodes === undefined) return [];
    const catalogIndex = this.servicesIndex;
    const moved = catalogIndex !== this.doneServicesIndex;
    if (moved && this.checksIndex < catalogIndex && this.checksFreshFor < catalogIndex) {
      // The catalog is ahead of the checks: read them now, so both say the same moment.
      try {
        const r = await this.reader.read(checksPath, 0, signal);
        this.checks = parseHealthChecks(r.body, r.what);
        this.checksFreshFor = catalogIndex;
        this.tracker.ok(checksPath);
      } catch (error) {
        return aborted(signal) ? [] : [{ loop: checksPath, error }];
      }
    }
    const checks = indexChecks(this.checks);
    const readAll = this.readAll;
    this.readAll = false;
    const gone = [...this.held.keys()].filter((n) => !services.has(n));
    const sig = (name: string, instanceNodes: readonly string[]) =>
      consulSignature(services.get(name) ?? [], name, checks, nodes, instanceNodes);
    const changed: string[] = [];
    const explain = new Set<string>();
    for (const name of services.keys()) {
      const h = this.held.get(name);
      const now = h === undefined ? undefined : sig(name, h.nodes);
      if (readAll || h === undefined || now === undefined || now.own !== h.sig.own) {
        explain.add(name);
        changed.push(name);
      } else if (this.dirty.has(name) || now.nodes !== h.sig.nodes) {
        changed.push(name);
      }
    }
    const reads = new Map<string, Read>();
    await this.readServices(changed, explain, reads, signal);
    if (moved && gone.length === 0 && this.seenIndex < catalogIndex) {
      // A write no signature shows (an instance without checks, or an address changed): read the
      // rest.
      const rest = [...services.keys()].filter((n) => !reads.has(n));
      await this.readServices(rest, explain, reads, signal);
    }
    if (aborted(signal)) return [];
    this.doneServicesIndex = catalogIndex;

    const failures: { loop: string; error: unknown }[] = [];
    const held = this.store.current();
    this.store.batch((b) => {
      for (const name of gone) {
        b.deleteService(consulHostname(name));
        this.held.delete(name);
        this.dirty.delete(name);
        this.tracker.forget(servicePath(name));
      }
      for (const [name, r] of reads) {
        if ('error' in r) {
          this.dirty.add(name);
          failures.push({ loop: servicePath(name), error: r.error });
          continue;
        }
        this.dirty.delete(name);
        this.tracker.ok(servicePath(name));
        const instanceNodes = [...new Set(r.entries.map((e) => e.node.node))].sort();
        this.held.set(name, { sig: sig(name, instanceNodes), nodes: instanceNodes });
        const view = consulServiceView(name, r.entries, this.warn);
        if (view === undefined) b.deleteService(consulHostname(name));
        else putService(b, held, view);
      }
    });
    this.tracker.setServices(this.store.current().services.size);
    if (failures.length === 0 && !this.tracker.hasSynced) {
      // The first complete view: the catalog and every service in it read.
      this.tracker.firstSync(this.store.current().services.size);
      this.store.notify();
      this.resolveSynced();
    }
    return failures;
  }
}

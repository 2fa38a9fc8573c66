/**
 * The Eureka registry, as Istio 0.2's `platform/eureka` mapped it: the instances that are UP,
 * grouped by `hostName` (the mesh host); each enabled `port` and `securePort` a service port
 * named by its number; the protocol from metadata `istio.protocol` (absent, or a word 0.2 did not
 * know: tcp); the other metadata, minus `@class`, the endpoint's labels; the address `ipAddr`.
 * There are no service accounts.
 *
 * Eureka has no change notification: `{base}/apps` is read every poll interval (2 s by default),
 * and only services whose content changed are written (the others keep their objects, so nothing
 * is regenerated for them). The base path is the URL's path when it has one
 * (`http://eureka:8761/eureka`), else found once: `/eureka/v2` (Netflix's server, 0.2's path),
 * then `/eureka` (Spring Cloud's). A failed read keeps the last good view and is retried with a
 * capped backoff.
 */
import type { Logger } from '../../lib/log.ts';
import { StoreRegistry } from '../model/memory-registry.ts';
import type { Protocol } from '../model/protocol.ts';
import {
  emptyLocality,
  type Endpoint,
  type PlatformRegistry,
  type RegistryStatus,
  type ServicePort,
} from '../model/service.ts';
import { parseEurekaApps, type EurekaApp, type EurekaInstance } from './eureka-wire.ts';
import { RegistryError, getJson } from './http.ts';
import { WarnOnce, isIpAddress, protocolWord, type Warn } from './mapping.ts';
import {
  Backoff,
  SyncTracker,
  Waker,
  aborted,
  defaultRetry,
  type RetryOptions,
} from './sync-tracker.ts';
import { replaceServices, type ServiceView } from './view.ts';

export const EurekaRegistryName = 'Eureka';

/** The metadata key naming the ports' protocol. */
export const ProtocolMetadata = 'istio.protocol';

/** The protocol of an instance's ports: metadata `istio.protocol`, else tcp. */
export function eurekaProtocol(i: EurekaInstance, warn: Warn): Protocol {
  const word = i.metadata.get(ProtocolMetadata) ?? '';
  if (word === '') return 'TCP';
  const p = protocolWord(word);
  if (p !== undefined) return p;
  warn(
    `protocol|${word}`,
    `${ProtocolMetadata} "${word}" (instance ${i.instanceId || i.hostName}) is not one of tcp, udp, grpc, http, http2, https, mongo, redis: tcp`,
  );
  return 'TCP';
}

/** An instance's labels: its metadata without `istio.protocol` and `@class`. */
export function eurekaLabels(i: EurekaInstance): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of i.metadata) if (k !== ProtocolMetadata && k !== '@class') out[k] = v;
  return out;
}

/** The enabled ports of an instance (`port`, then `securePort`). */
export function enabledPorts(i: EurekaInstance): number[] {
  const out: number[] = [];
  for (const p of [i.port, i.securePort]) {
    if (p?.enabled === true && p.port > 0 && !out.includes(p.port)) out.push(p.port);
  }
  return out;
}

function byInstance(a: EurekaInstance, b: EurekaInstance): number {
  const ka = `${a.hostName}|${a.ipAddr}|${a.instanceId}`;
  const kb = `${b.hostName}|${b.ipAddr}|${b.instanceId}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The mesh view of Eureka's applications: one service per `hostName` of an UP instance with an
 * enabled port. Instances are taken in a fixed order, so when two disagree on a port's protocol
 * the same one wins every time.
 */
export function eurekaServices(apps: readonly EurekaApp[], warn: Warn): Map<string, ServiceView> {
  const instances = apps.flatMap((a) => a.instances).sort(byInstance);
  const ports = new Map<string, Map<number, ServicePort>>();
  const endpoints = new Map<string, Endpoint[]>();
  for (const i of instances) {
    if (i.status !== 'UP') continue;
    const nums = enabledPorts(i);
    if (nums.length === 0) continue;
    const where = `instance ${i.instanceId || i.ipAddr} of ${i.app || '?'}`;
    if (i.hostName === '') {
      warn(`nohost|${i.app}|${i.instanceId}`, `${where} has no hostName: left out`);
      continue;
    }
    if (!isIpAddress(i.ipAddr)) {
      warn(
        `address|${i.hostName}|${i.ipAddr}`,
        `${where}: ipAddr "${i.ipAddr}" is not an IP: left out`,
      );
      continue;
    }
    const protocol = eurekaProtocol(i, warn);
    let svcPorts = ports.get(i.hostName);
    if (!svcPorts) ports.set(i.hostName, (svcPorts = new Map<number, ServicePort>()));
    let eps = endpoints.get(i.hostName);
    if (!eps) endpoints.set(i.hostName, (eps = []));
    for (const n of nums) {
      const had = svcPorts.get(n);
      if (had === undefined) {
        svcPorts.set(n, { name: String(n), port: n, protocol });
      } else if (had.protocol !== protocol) {
        warn(
          `conflict|${i.hostName}|${String(n)}|${protocol}`,
          `${where} says port ${String(n)} of ${i.hostName} is ${protocol}, an earlier instance ${had.protocol}: ${had.protocol} kept`,
        );
      }
      eps.push({
        address: i.ipAddr,
        port: n,
        servicePortName: String(n),
        ready: true,
        locality: emptyLocality,
        weight: 1,
        labels: eurekaLabels(i),
        serviceAccount: undefined,
        tlsMode: 'disabled',
        pod: undefined,
      });
    }
  }
  const out = new Map<string, ServiceView>();
  for (const [host, p] of [...ports].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.set(host, {
      service: {
        hostname: host,
        name: host,
        namespace: '',
        clusterIP: undefined,
        ports: [...p.values()].sort((a, b) => a.port - b.port),
        registry: EurekaRegistryName,
      },
      endpoints: endpoints.get(host) ?? [],
    });
  }
  return out;
}

/** Where `{base}/apps` may be: the URL's own path, or Netflix's and then Spring Cloud's. */
export function eurekaAppsPaths(url: string): { base: string; paths: string[] } {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '');
  const base = u.origin;
  if (path !== '') return { base, paths: [`${path}/apps`] };
  return { base, paths: ['/eureka/v2/apps', '/eureka/apps'] };
}

export interface EurekaRegistryOptions {
  /** The Eureka server (`http://eureka:8761`, or with its base path: `http://eureka:8761/eureka`). */
  readonly url: string;
  readonly logger: Logger;
  /** How often `/apps` is read (default 2 s). */
  readonly pollMs?: number;
  /** Deadline of one read (default 10 s). */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
}

export class EurekaRegistry extends StoreRegistry implements PlatformRegistry {
  readonly name = EurekaRegistryName;
  private readonly url: string;
  private readonly base: string;
  private readonly candidates: readonly string[];
  /** The apps path that answered, once found. */
  private appsPath: string | undefined;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly retry: RetryOptions;
  private readonly tracker: SyncTracker;
  private readonly waker = new Waker();
  private readonly warned = new WarnOnce();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private resolveSynced: () => void = () => undefined;
  private readonly synced = new Promise<void>((resolve) => {
    this.resolveSynced = resolve;
  });

  constructor(o: EurekaRegistryOptions) {
    super();
    this.url = o.url.replace(/\/+$/, '');
    const { base, paths } = eurekaAppsPaths(this.url);
    this.base = base;
    this.candidates = paths;
    this.log = o.logger.child({ component: 'eureka-registry' });
    this.pollMs = o.pollMs ?? 2000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.retry = { ...defaultRetry, ...o.retry };
    this.tracker = new SyncTracker(this.name, this.url, this.log);
    this.store.setSyncCheck(() => this.tracker.notSynced());
  }

  start(): Promise<void> {
    this.loop ??= this.poll();
    return this.synced;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.resolveSynced();
    await this.loop;
  }

  status(): RegistryStatus {
    return this.tracker.status();
  }

  private warn: Warn = (key, message) => {
    if (this.warned.first(key)) this.log.warn({ registry: this.name }, message);
  };

  /** Reads the applications, finding the apps path on the first read. */
  private async readApps(signal: AbortSignal): Promise<EurekaApp[]> {
    const paths = this.appsPath === undefined ? this.candidates : [this.appsPath];
    for (const path of paths) {
      const url = `${this.base}${path}`;
      const res = await getJson(url, {
        registry: this.name,
        timeoutMs: this.timeoutMs,
        signal,
        allowStatus: [404],
      });
      if (res.status === 404) continue;
      const apps = parseEurekaApps(res.body, `${this.name} ${url}`);
      if (this.appsPath === undefined) {
        this.appsPath = path;
        this.log.info({ registry: this.name, url }, 'Eureka applications found');
      }
      return apps;
    }
    const tried = paths.map((p) => `${this.base}${p}`).join(', ');
    // Look again next time: the server may have moved.
    this.appsPath = undefined;
    throw new RegistryError(this.name, this.url, `HTTP 404 from ${tried}`);
  }

  private async poll(): Promise<void> {
    const signal = this.stopping.signal;
    const backoff = new Backoff(this.retry);
    while (!aborted(signal)) {
      let wait = this.pollMs;
      try {
        const apps = await this.readApps(signal);
        if (aborted(signal)) break;
        replaceServices(this.store, eurekaServices(apps, this.warn));
        this.tracker.ok();
        backoff.reset();
        const n = this.store.current().services.size;
        this.tracker.setServices(n);
        if (!this.tracker.hasSynced) {
          this.tracker.firstSync(n);
          this.store.notify();
          this.resolveSynced();
        }
      } catch (e) {
        if (aborted(signal)) break;
        wait = backoff.next();
        this.tracker.failed(e, wait);
      }
      await this.waker.wait(wait, signal);
    }
  }
}

/**
 * Small node:http stand-ins for a Consul agent and a Eureka server, for the registries' unit tests:
 * only the reads Pilot makes (Consul's `/v1/catalog/services`, `/v1/catalog/nodes`,
 * `/v1/health/state/any` and `/v1/health/service/<name>` with blocking queries, Eureka's
 * `{base}/apps`), state the test sets, and switches to make them answer
 * garbage, fail, or go away and come back on the same port. The cluster tier runs the real servers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listenOn } from '../../lib/listen.ts';

/** What the server answers instead of the truth. */
export type FakeMode = 'ok' | 'garbage' | 'http500' | 'wrong-shape';

abstract class FakeServer {
  port = 0;
  mode: FakeMode = 'ok';
  /** Requests seen, as `path?query`. */
  readonly requests: string[] = [];
  /** The most connections open at once since `start()` (or since set to 0). */
  maxConnections = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  /** Connections open now (idle keep-alive ones too). */
  get connections(): number {
    return this.sockets.size;
  }

  get url(): string {
    return `http://127.0.0.1:${String(this.port)}`;
  }

  /** Listens (on the same port as before after a `stop()`). */
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      this.handle(req, res);
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      this.maxConnections = Math.max(this.maxConnections, this.sockets.size);
      s.on('close', () => {
        this.sockets.delete(s);
      });
    });
    this.server = server;
    this.port = await listenOn(server, this.port, '127.0.0.1');
  }

  /** Goes away at once: open connections (blocked queries too) are cut. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.release();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): void;

  /** Answers blocked requests (Consul). */
  protected release(): void {}

  /** Answers per `mode`; returns true when it did (the caller answers the truth otherwise). */
  protected faulty(res: ServerResponse): boolean {
    switch (this.mode) {
      case 'ok':
        return false;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not a registry</html>');
        return true;
      case 'http500':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        return true;
      case 'wrong-shape':
        return false;
    }
  }
}

export interface FakeConsulInstance {
  readonly id: string;
  readonly node?: string;
  readonly nodeAddress?: string;
  readonly nodeMeta?: Record<string, string>;
  readonly address?: string;
  readonly port: number;
  readonly tags?: readonly string[];
  readonly meta?: Record<string, string>;
  /** Check statuses (default: one passing check). */
  readonly checks?: readonly string[];
}

/**
 * A Consul agent's catalog and health reads, with blocking queries: a request whose `index` is
 * the current one waits until something changes or its `wait` ends. One index moves on every
 * change; as in Consul, a check's ModifyIndex is the index its instance was registered at, and
 * `/v1/health/service/<name>` answers with the index of the service's last change.
 */
export class FakeConsul extends FakeServer {
  index = 10;
  private readonly services = new Map<string, Map<string, FakeConsulInstance>>();
  private readonly modified = new Map<FakeConsulInstance, number>();
  private readonly serviceIndex = new Map<string, number>();
  private readonly blocked = new Set<() => void>();

  register(service: string, i: FakeConsulInstance): void {
    let m = this.services.get(service);
    if (!m) this.services.set(service, (m = new Map<string, FakeConsulInstance>()));
    m.set(i.id, i);
    this.modified.set(i, this.index + 1);
    this.serviceIndex.set(service, this.index + 1);
    this.changed();
  }

  private instances(): [string, FakeConsulInstance][] {
    return [...this.services].flatMap(([name, m]) =>
      [...m.values()].map((i): [string, FakeConsulInstance] => [name, i]),
    );
  }

  deregister(service: string, id: string): void {
    const m = this.services.get(service);
    m?.delete(id);
    if (m?.size === 0) this.services.delete(service);
    this.serviceIndex.set(service, this.index + 1);
    this.changed();
  }

  /** Bumps the index and answers every blocked query. */
  changed(): void {
    this.index++;
    this.release();
  }

  protected override release(): void {
    for (const r of [...this.blocked]) r();
  }

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const asked = Number(u.searchParams.get('index') ?? '0');
    const waitMs = Number((u.searchParams.get('wait') ?? '5s').replace(/s$/, '')) * 1000;
    const answer = () => {
      if (this.faulty(res)) return;
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-consul-index', String(this.index));
      if (this.mode === 'wrong-shape') {
        res.end(JSON.stringify([{ Node: { Node: 'n1' }, Service: { ID: 'x', Port: 'eighty' } }]));
        return;
      }
      if (u.pathname === '/v1/catalog/services') {
        const out: Record<string, string[]> = {};
        for (const [name, m] of this.services) {
          out[name] = [...new Set([...m.values()].flatMap((i) => i.tags ?? []))].sort();
        }
        res.end(JSON.stringify(out));
        return;
      }
      if (u.pathname === '/v1/catalog/nodes') {
        const nodes = new Map<string, unknown>();
        for (const [, i] of this.instances()) {
          const node = i.node ?? 'node-1';
          nodes.set(node, {
            Node: node,
            Address: i.nodeAddress ?? '10.0.0.1',
            Datacenter: 'dc1',
            Meta: i.nodeMeta ?? null,
          });
        }
        res.end(JSON.stringify([...nodes.values()]));
        return;
      }
      if (u.pathname === '/v1/health/state/any') {
        const checks = this.instances().flatMap(([name, i]) =>
          (i.checks ?? ['passing']).map((status, n) => ({
            Node: i.node ?? 'node-1',
            CheckID: `check-${String(n)}`,
            Status: status,
            ServiceID: i.id,
            ServiceName: name,
            ModifyIndex: this.modified.get(i) ?? 0,
          })),
        );
        res.end(JSON.stringify(checks));
        return;
      }
      const m = /^\/v1\/health\/service\/(.+)$/.exec(u.pathname);
      if (!m) {
        res.writeHead(404).end('not found');
        return;
      }
      const name = decodeURIComponent(m[1] ?? '');
      res.setHeader('x-consul-index', String(this.serviceIndex.get(name) ?? this.index));
      const entries = [...(this.services.get(name)?.values() ?? [])].map((i) => ({
        Node: {
          Node: i.node ?? 'node-1',
          Address: i.nodeAddress ?? '10.0.0.1',
          Datacenter: 'dc1',
          Meta: i.nodeMeta ?? null,
        },
        Service: {
          ID: i.id,
          Service: name,
          Address: i.address ?? '',
          Port: i.port,
          Tags: i.tags ?? null,
          Meta: i.meta ?? null,
        },
        Checks: (i.checks ?? ['passing']).map((status, n) => ({
          CheckID: `check-${String(n)}`,
          Status: status,
        })),
      }));
      res.end(JSON.stringify(entries));
    };
    if (asked === 0 || asked < this.index || this.mode !== 'ok') {
      answer();
      return;
    }
    let timer: NodeJS.Timeout | undefined = undefined;
    const done = () => {
      clearTimeout(timer);
      this.blocked.delete(done);
      if (!res.destroyed) answer();
    };
    timer = setTimeout(done, waitMs);
    this.blocked.add(done);
    req.on('close', () => {
      clearTimeout(timer);
      this.blocked.delete(done);
    });
  }
}

export interface FakeEurekaInstance {
  readonly app: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly status?: string;
  readonly port?: number;
  /** Sent as `"@enabled": "true"` (a string, as Eureka writes it). */
  readonly portEnabled?: boolean;
  readonly securePort?: number;
  readonly securePortEnabled?: boolean;
  readonly metadata?: Record<string, string>;
  readonly instanceId?: string;
}

/**
 * A Eureka server's `{base}/apps` (base `/eureka/v2` unless told), in Eureka's JSON, with the
 * quirk `singleAsObject`: an application with one instance, and a list of one application, are
 * written as the object itself.
 */
export class FakeEureka extends FakeServer {
  basePath = '/eureka/v2';
  singleAsObject = false;
  readonly instances = new Map<string, FakeEurekaInstance>();

  put(i: FakeEurekaInstance): void {
    this.instances.set(i.instanceId ?? `${i.hostName}:${i.ipAddr}`, i);
  }

  remove(instanceId: string): void {
    this.instances.delete(instanceId);
  }

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== `${this.basePath}/apps`) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not Found"}');
      return;
    }
    if (this.faulty(res)) return;
    res.setHeader('content-type', 'application/json');
    if (this.mode === 'wrong-shape') {
      res.end(JSON.stringify({ applications: { application: [{ instance: [{ port: 'x' }] }] } }));
      return;
    }
    const byApp = new Map<string, unknown[]>();
    for (const [id, i] of this.instances) {
      let list = byApp.get(i.app);
      if (!list) byApp.set(i.app, (list = []));
      list.push({
        instanceId: id,
        hostName: i.hostName,
        app: i.app,
        ipAddr: i.ipAddr,
        status: i.status ?? 'UP',
        overriddenstatus: 'UNKNOWN',
        port: { $: i.port ?? 80, '@enabled': String(i.portEnabled ?? true) },
        securePort: { $: i.securePort ?? 443, '@enabled': String(i.securePortEnabled ?? false) },
        countryId: 1,
        dataCenterInfo: {
          '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo',
          name: 'MyOwn',
        },
        metadata: { '@class': 'java.util.Collections$EmptyMap', ...i.metadata },
      });
    }
    const one = <T>(list: T[]): T | T[] =>
      this.singleAsObject && list.length === 1 && list[0] !== undefined ? list[0] : list;
    const apps = [...byApp].map(([name, instance]) => ({ name, instance: one(instance) }));
    res.end(
      JSON.stringify({
        applications: {
          versions__delta: '1',
          apps__hashcode: `UP_${String(this.instances.size)}_`,
          application: one(apps),
        },
      }),
    );
  }
}

/**
 * A real Consul agent for tests: Consul 1.14 built from source (npm test builds it first;
 * scripts/build-binaries.sh consul), a `-dev` server (in-memory state, leader at once) on loopback,
 * every port explicit and free (HTTP, Serf LAN and WAN, server RPC; DNS, gRPC and gRPC-TLS off),
 * in its own temp dir. `stop` and `start` again keep the ports; each start gets a new data dir,
 * because a dev agent given a data dir keeps the services registered through its agent API there
 * and registers them again when it starts, so only a new dir gives a restart an empty catalog.
 *
 * Two ways to put a service in the catalog, as Consul users do:
 * - `registerAgentService`: the agent API (`PUT /v1/agent/service/register`), on the agent's own
 *   node (whose NodeMeta is the `nodeMeta` option), with a TTL or HTTP health check the agent runs;
 *   `setCheck` moves a TTL check to passing, warning or critical.
 * - `registerCatalog`: `PUT /v1/catalog/register`, for an external node with its own address and
 *   NodeMeta, and checks whose status is given (registering again with another status changes it).
 *   The node must not be the agent's own (its anti-entropy would remove what it did not register).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinary, missingBinaryError } from '../../lib/local-cluster/binaries.ts';
import { freePorts } from '../../lib/free-ports.ts';
import { ServerProcess } from './server-process.ts';

export type ConsulCheckStatus = 'passing' | 'warning' | 'critical';

/** A check the agent runs: a TTL (set with `setCheck`) or an HTTP GET. */
export type ConsulAgentCheck =
  | { readonly ttl: string; readonly checkId?: string; readonly status?: ConsulCheckStatus }
  | {
      readonly http: string;
      readonly interval: string;
      readonly timeout?: string;
      readonly checkId?: string;
    };

export interface ConsulServiceSpec {
  /** The service name (Pilot's hostname is `NAME.service.consul`). */
  readonly name: string;
  /** Unique on its node; defaults to the name. */
  readonly id?: string;
  readonly address: string;
  readonly port: number;
  /** Istio 0.2 reads `protocol=http` style tags. */
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
}

export interface ConsulCatalogRegistration {
  /** An external node, not the agent's own. */
  readonly node: string;
  readonly nodeAddress: string;
  readonly nodeMeta?: Readonly<Record<string, string>>;
  readonly service: ConsulServiceSpec;
  /** Checks on the service with a given status (defaults to one passing check `service:ID`). */
  readonly checks?: readonly { readonly checkId: string; readonly status: ConsulCheckStatus }[];
}

/** One row of `GET /v1/catalog/service/NAME`. */
export interface ConsulCatalogEntry {
  readonly Node: string;
  readonly Address: string;
  readonly NodeMeta: Readonly<Record<string, string>> | null;
  readonly ServiceID: string;
  readonly ServiceName: string;
  readonly ServiceAddress: string;
  readonly ServicePort: number;
  readonly ServiceTags: readonly string[] | null;
  readonly ServiceMeta: Readonly<Record<string, string>> | null;
}

/** One row of `GET /v1/health/service/NAME`. */
export interface ConsulHealthEntry {
  readonly Node: {
    readonly Node: string;
    readonly Address: string;
    readonly Meta: Readonly<Record<string, string>> | null;
  };
  readonly Service: {
    readonly ID: string;
    readonly Service: string;
    readonly Address: string;
    readonly Port: number;
    readonly Tags: readonly string[] | null;
    readonly Meta: Readonly<Record<string, string>> | null;
  };
  readonly Checks: readonly {
    readonly CheckID: string;
    readonly ServiceID: string;
    readonly Status: ConsulCheckStatus;
  }[];
}

interface ConsulPorts {
  readonly http: number;
  readonly serfLan: number;
  readonly serfWan: number;
  readonly server: number;
}

export interface TestConsulOptions {
  /** The agent's node name (default `consul-test`). */
  readonly node?: string;
  /** NodeMeta of the agent's own node (`-node-meta k:v`). */
  readonly nodeMeta?: Readonly<Record<string, string>>;
}

export class TestConsul {
  private tempDir: string | undefined;
  private launches = 0;
  readonly node: string;
  private readonly nodeMeta: Readonly<Record<string, string>>;
  private ports: ConsulPorts | undefined;
  private proc: ServerProcess | undefined;

  /** Its temp dir (data and log), made at the first start; `remove` deletes it. */
  get dir(): string {
    this.tempDir ??= mkdtempSync(join(tmpdir(), 'istio-lite-consul-'));
    return this.tempDir;
  }

  constructor(options: TestConsulOptions = {}) {
    this.node = options.node ?? 'consul-test';
    this.nodeMeta = options.nodeMeta ?? {};
  }

  /** The HTTP API: `http://127.0.0.1:PORT`. */
  get url(): string {
    return `http://127.0.0.1:${String(this.httpPort)}`;
  }

  /** The HTTP API's port (Pilot's `--consulserverURL` takes `127.0.0.1:PORT`). */
  get httpPort(): number {
    if (this.ports === undefined) throw new Error('consul has not been started');
    return this.ports.http;
  }

  /** The running agent's process id (undefined when stopped). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /**
   * Starts the agent and waits until it has a leader and has put its own node in the catalog.
   * On the first start, a port taken meanwhile by another process means new ports and a retry.
   */
  async start(timeoutMs = 60_000): Promise<void> {
    const binary = findBinary('consul');
    if (binary === undefined) throw missingBinaryError('consul', process.env);
    const fixed = this.ports !== undefined;
    for (let attempt = 1; ; attempt++) {
      if (!fixed) {
        const [http, serfLan, serfWan, server] = await freePorts(4);
        if (http === undefined || serfLan === undefined) throw new Error('no free ports');
        if (serfWan === undefined || server === undefined) throw new Error('no free ports');
        this.ports = { http, serfLan, serfWan, server };
      }
      try {
        await this.launch(binary, timeoutMs);
        return;
      } catch (e) {
        if (fixed || attempt >= 3 || !/address already in use/.test(String(e))) throw e;
      }
    }
  }

  private async launch(binary: string, timeoutMs: number): Promise<void> {
    const ports = this.ports;
    if (ports === undefined) throw new Error('consul has no ports');
    const meta = Object.entries(this.nodeMeta).flatMap(([k, v]) => ['-node-meta', `${k}:${v}`]);
    this.launches += 1;
    const dataDir = join(this.dir, `data-${String(this.launches)}`);
    const proc = new ServerProcess(
      binary,
      [
        'agent',
        '-dev',
        '-log-level=info',
        `-node=${this.node}`,
        ...meta,
        `-data-dir=${dataDir}`,
        '-bind=127.0.0.1',
        '-client=127.0.0.1',
        `-http-port=${String(ports.http)}`,
        `-serf-lan-port=${String(ports.serfLan)}`,
        `-serf-wan-port=${String(ports.serfWan)}`,
        `-server-port=${String(ports.server)}`,
        // Off; an unset gRPC-TLS port would be 8503 on a server, shared by every test agent.
        '-grpc-port=-1',
        '-grpc-tls-port=-1',
        '-dns-port=-1',
      ],
      join(this.dir, 'consul.log'),
    );
    this.proc = proc;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.exit !== undefined) {
        this.proc = undefined;
        throw new Error(`consul on ${String(ports.http)} ${proc.exit}:\n${proc.logTail()}`);
      }
      if (await this.ready()) return;
      await sleep(100);
    }
    await this.stop();
    throw new Error(
      `consul on ${String(ports.http)} has no leader after ${String(timeoutMs)} ms:\n${proc.logTail()}`,
    );
  }

  private async ready(): Promise<boolean> {
    try {
      const leader = await this.get<string>('/v1/status/leader');
      if (leader === '') return false;
      const nodes = await this.get<readonly { Node: string }[]>('/v1/catalog/nodes');
      return nodes.some((n) => n.Node === this.node);
    } catch {
      return false;
    }
  }

  /** Kills the agent (SIGKILL) and waits until it is gone. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    await p?.kill();
  }

  /** Stops and starts it again on the same ports, with an empty catalog. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async remove(): Promise<void> {
    await this.stop();
    if (this.tempDir !== undefined) rmSync(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }

  private async request(method: string, path: string, body?: unknown): Promise<string> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const r = await fetch(`${this.url}${path}`, init);
    const text = await r.text();
    if (!r.ok) throw new Error(`consul ${method} ${path}: ${String(r.status)} ${text}`);
    return text;
  }

  /** GET an API path and parse its JSON. */
  async get<T>(path: string): Promise<T> {
    return JSON.parse(await this.request('GET', path)) as T;
  }

  /** Registers a service on the agent's node, with an optional check the agent runs. */
  async registerAgentService(spec: ConsulServiceSpec, check?: ConsulAgentCheck): Promise<void> {
    const id = spec.id ?? spec.name;
    const body: Record<string, unknown> = {
      ID: id,
      Name: spec.name,
      Address: spec.address,
      Port: spec.port,
      Tags: spec.tags ?? [],
      Meta: spec.meta ?? {},
    };
    if (check !== undefined) {
      const checkId = check.checkId ?? `service:${id}`;
      body['Check'] =
        'ttl' in check
          ? { CheckID: checkId, Name: checkId, TTL: check.ttl, Status: check.status ?? 'passing' }
          : {
              CheckID: checkId,
              Name: checkId,
              HTTP: check.http,
              Interval: check.interval,
              Timeout: check.timeout ?? '1s',
            };
    }
    await this.request('PUT', '/v1/agent/service/register', body);
  }

  /** Removes a service (and its checks) from the agent's node. */
  async deregisterAgentService(id: string): Promise<void> {
    await this.request('PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`);
  }

  /** Sets a TTL check's status (`service:ID` for a service's own check). */
  async setCheck(checkId: string, status: ConsulCheckStatus, output = ''): Promise<void> {
    const path = `/v1/agent/check/update/${encodeURIComponent(checkId)}`;
    await this.request('PUT', path, { Status: status, Output: output });
  }

  /** Registers a node, its NodeMeta, a service on it and the service's checks in the catalog. */
  async registerCatalog(reg: ConsulCatalogRegistration): Promise<void> {
    if (reg.node === this.node) {
      throw new Error(`registerCatalog: ${reg.node} is the agent's node; use another node name`);
    }
    const s = reg.service;
    const id = s.id ?? s.name;
    const checks = reg.checks ?? [{ checkId: `service:${id}`, status: 'passing' }];
    await this.request('PUT', '/v1/catalog/register', {
      Node: reg.node,
      Address: reg.nodeAddress,
      NodeMeta: reg.nodeMeta ?? {},
      Service: {
        ID: id,
        Service: s.name,
        Address: s.address,
        Port: s.port,
        Tags: s.tags ?? [],
        Meta: s.meta ?? {},
      },
      Checks: checks.map((c) => ({
        Node: reg.node,
        CheckID: c.checkId,
        Name: c.checkId,
        Status: c.status,
        ServiceID: id,
      })),
    });
  }

  /** Removes a service from an external node, or the whole node when no service is given. */
  async deregisterCatalog(node: string, serviceId?: string): Promise<void> {
    const body = serviceId === undefined ? { Node: node } : { Node: node, ServiceID: serviceId };
    await this.request('PUT', '/v1/catalog/deregister', body);
  }

  /** Every service name with its tags: `GET /v1/catalog/services`. */
  async services(): Promise<Readonly<Record<string, readonly string[]>>> {
    return this.get('/v1/catalog/services');
  }

  /** A service's instances: `GET /v1/catalog/service/NAME`. */
  async catalogService(name: string): Promise<readonly ConsulCatalogEntry[]> {
    return this.get(`/v1/catalog/service/${encodeURIComponent(name)}`);
  }

  /** A service's instances with their node and checks: `GET /v1/health/service/NAME`. */
  async healthService(name: string): Promise<readonly ConsulHealthEntry[]> {
    return this.get(`/v1/health/service/${encodeURIComponent(name)}`);
  }
}

/**
 * Consul for the registries bench: Consul 1.14 from .cache/bin (never built here), a `-dev` agent
 * on free loopback ports in its own temp dir, like e2e/cluster/consul-server.ts's TestConsul, with
 * Consul's default limits unless told otherwise (`limits.http_max_conns_per_client`, 200 per
 * client address by default, is what bounds a Pilot that holds a connection per service).
 * Instances go in through `PUT /v1/catalog/register` on external nodes, in parallel batches, each
 * with tags and a passing check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinary, missingBinaryError } from '../../lib/local-cluster/binaries.ts';
import { freePorts } from '../../lib/free-ports.ts';
import { ServerProcess } from '../../e2e/cluster/server-process.ts';

export interface ConsulInstance {
  readonly service: string;
  readonly id: string;
  readonly node: string;
  readonly nodeAddress: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
}

export class BenchConsul {
  readonly dir = mkdtempSync(join(tmpdir(), 'istio-lite-bench-consul-'));
  private proc: ServerProcess | undefined;
  private httpPort = 0;

  get url(): string {
    return `http://127.0.0.1:${String(this.httpPort)}`;
  }

  /** Starts the agent and waits for a leader and its own node in the catalog. */
  async start(maxConnsPerClient?: number): Promise<void> {
    const binary = findBinary('consul');
    if (binary === undefined) throw missingBinaryError('consul', process.env);
    const [http = 0, serfLan = 0, serfWan = 0, server = 0] = await freePorts(4);
    this.httpPort = http;
    const proc = new ServerProcess(
      binary,
      [
        'agent',
        '-dev',
        '-log-level=warn',
        '-node=consul-bench',
        `-data-dir=${this.dir}`,
        '-bind=127.0.0.1',
        '-client=127.0.0.1',
        `-http-port=${String(http)}`,
        `-serf-lan-port=${String(serfLan)}`,
        `-serf-wan-port=${String(serfWan)}`,
        `-server-port=${String(server)}`,
        '-grpc-port=-1',
        '-grpc-tls-port=-1',
        '-dns-port=-1',
        ...(maxConnsPerClient === undefined
          ? []
          : ['-hcl', `limits { http_max_conns_per_client = ${String(maxConnsPerClient)} }`]),
      ],
      join(this.dir, 'consul.log'),
    );
    this.proc = proc;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (proc.exit !== undefined) throw new Error(`consul ${proc.exit}:\n${proc.logTail()}`);
      if (await this.ready()) return;
      await sleep(100);
    }
    throw new Error(`consul has no leader after 60 s:\n${proc.logTail()}`);
  }

  private async ready(): Promise<boolean> {
    try {
      const leader = (await this.request('GET', '/v1/status/leader')).trim();
      if (leader === '' || leader === '""') return false;
      const nodes = JSON.parse(await this.request('GET', '/v1/catalog/nodes')) as {
        Node: string;
      }[];
      return nodes.some((n) => n.Node === 'consul-bench');
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    await p?.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async request(method: string, path: string, body?: unknown): Promise<string> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(30_000) };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const r = await fetch(`${this.url}${path}`, init);
    const text = await r.text();
    if (!r.ok) throw new Error(`consul ${method} ${path}: ${String(r.status)} ${text}`);
    return text;
  }

  /** One instance on an external node, with a passing check (`service:ID`). */
  async register(i: ConsulInstance): Promise<void> {
    await this.request('PUT', '/v1/catalog/register', {
      Node: i.node,
      Address: i.nodeAddress,
      Service: {
        ID: i.id,
        Service: i.service,
        Address: i.address,
        Port: i.port,
        Tags: i.tags,
      },
      Checks: [
        {
          Node: i.node,
          CheckID: `service:${i.id}`,
          Name: `service:${i.id}`,
          Status: 'passing',
          ServiceID: i.id,
        },
      ],
    });
  }

  /** Removes one instance (and its check) from its node. */
  async deregister(node: string, id: string): Promise<void> {
    await this.request('PUT', '/v1/catalog/deregister', { Node: node, ServiceID: id });
  }

  /** The number of services in the catalog (the agent's own `consul` included). */
  async serviceCount(): Promise<number> {
    return Object.keys(JSON.parse(await this.request('GET', '/v1/catalog/services')) as object)
      .length;
  }
}

/** Runs `f` over `items`, `width` at a time. */
export async function inBatches<T>(
  items: readonly T[],
  width: number,
  f: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await f(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

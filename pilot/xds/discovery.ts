/**
 * The discovery service: turns registry changes into pushes. Changes are debounced; each push
 * builds one mesh snapshot (shared resources encoded once), then one checked snapshot per
 * connected proxy (shared between proxies that would get identical ones), and hands each to its
 * stream, which sends only what changed.
 */
import type { Logger } from '../../lib/log.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { MeshConfig } from '../../lib/mesh-config.ts';
import type { Proxy, ProxyObserver } from '../model/proxy.ts';
import type { ServiceRegistry } from '../model/service.ts';
import { emptyConfig, type ConfigSource } from '../config/model.ts';
import { genContext, type GenContext } from '../generate/context.ts';
import { MeshBuilder, type MeshBuild } from '../snapshot/mesh-build.ts';
import { buildProxySnapshot, type ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import { Connection, type ConnectionStatus } from './connection.ts';
import { Debouncer } from './debounce.ts';
import type { XdsMetrics } from './metrics.ts';
import { ResponseCache } from './response-cache.ts';
import { SendGate } from './send-gate.ts';

export interface DiscoveryOptions {
  readonly registry: ServiceRegistry;
  /** RouteRules, DestinationPolicies, EgressRules and Ingresses (none when absent). */
  readonly config?: ConfigSource;
  /** Called after each build (status reporting). */
  readonly onBuild?: (build: MeshBuild) => void;
  readonly mesh: MeshConfig;
  readonly logger: Logger;
  readonly metrics: XdsMetrics;
  /** Quiet time before a push (default 100 ms). */
  readonly debounceMs?: number;
  /** Longest a change waits for its push (default 1 s). */
  readonly debounceMaxMs?: number;
  /** How long a stream waits for an ACK before sending the next type anyway (default 5 s). */
  readonly ackTimeoutMs?: number;
  /** The control plane identifier in every response. */
  readonly controlPlane?: string;
  readonly domain?: string;
  /** Bytes of responses written but not yet flushed, across streams (default 16 MiB). */
  readonly sendBudgetBytes?: number;
  /** Told of each proxy's streams (auto-registration). */
  readonly proxies?: ProxyObserver;
}

export class DiscoveryServer {
  private readonly o: DiscoveryOptions;
  private readonly ctx: GenContext;
  private readonly builder = new MeshBuilder();
  private readonly debouncer: Debouncer;
  private readonly conns = new Set<Connection>();
  private build: MeshBuild | undefined;
  private unsubscribe: (() => void) | undefined;
  private connCounter = 0;
  private readonly gate: SendGate;
  private readonly responses: ResponseCache;
  private lastPush: { version: number; at: string; ms: number; proxies: number } | undefined;
  /** The last push's snapshots by proxy key: what the next build's may keep parts of. */
  private previous = new Map<string, ProxySnapshot>();

  constructor(o: DiscoveryOptions) {
    this.o = o;
    this.ctx = genContext(o.mesh, o.domain);
    this.responses = new ResponseCache(o.controlPlane ?? 'istio-lite-pilot');
    this.gate = new SendGate(o.sendBudgetBytes ?? 16 * 1024 * 1024);
    this.debouncer = new Debouncer({
      quietMs: o.debounceMs ?? 100,
      maxMs: o.debounceMaxMs ?? 1000,
      run: (at) => {
        this.push(at);
      },
    });
  }

  /**
   * Watches the registry. The first snapshot is built the moment the registry and config are
   * synced, not after a debounce: /ready waits for it, and no proxy has config yet to spare a
   * burst of pushes. Later changes are debounced.
   */
  start(): void {
    const trigger = () => {
      if (this.build === undefined && this.notSynced() === undefined) {
        this.debouncer.stop();
        this.push(Date.now());
        return;
      }
      this.debouncer.trigger();
    };
    const offRegistry = this.o.registry.onChange(trigger);
    const offConfig = this.o.config?.onChange(trigger);
    this.unsubscribe = () => {
      offRegistry();
      offConfig?.();
    };
    this.push(Date.now());
  }

  stop(): void {
    this.unsubscribe?.();
    this.debouncer.stop();
    for (const c of this.conns) c.close();
    this.conns.clear();
  }

  /** Why Pilot cannot serve yet (registry not synced, no snapshot built), or undefined. */
  notReady(): string | undefined {
    return this.notSynced() ?? (this.build ? undefined : 'no snapshot built yet');
  }

  private notSynced(): string | undefined {
    return this.o.registry.notSynced() ?? this.o.config?.notSynced();
  }

  current(): MeshBuild | undefined {
    return this.build;
  }

  connect(
    write: (bytes: Uint8Array, flushed: () => void) => void,
    mode: 'sotw' | 'delta' = 'sotw',
  ): Connection {
    const conn = new Connection({
      id: `ads-${++this.connCounter}`,
      write,
      gate: this.gate,
      identify: (p) => {
        this.o.proxies?.connected(p);
        return this.build ? this.snapshotFor(this.build, p, new Map()) : undefined;
      },
      logger: this.o.logger,
      metrics: this.o.metrics,
      ackTimeoutMs: this.o.ackTimeoutMs ?? 5000,
      responses: this.responses,
      mode,
    });
    this.conns.add(conn);
    this.o.metrics.connected.set(this.conns.size);
    return conn;
  }

  disconnect(conn: Connection): void {
    if (this.conns.has(conn) && conn.proxy) this.o.proxies?.disconnected(conn.proxy);
    conn.close();
    this.conns.delete(conn);
    this.o.metrics.connected.set(this.conns.size);
  }

  connections(): ConnectionStatus[] {
    return [...this.conns].map((c) => c.status());
  }

  /** The open streams (debug pages read their proxy, status and held config). */
  streams(): readonly Connection[] {
    return [...this.conns];
  }

  lastPushInfo(): typeof this.lastPush {
    return this.lastPush;
  }

  /** Builds and pushes now (tests and the debouncer). */
  push(changedAt: number): void {
    if (this.notSynced() !== undefined) return;
    const t0 = performance.now();
    const config = this.o.config?.current() ?? emptyConfig;
    const build = this.builder.build(this.o.registry.current(), this.ctx, changedAt, config);
    const t1 = performance.now();
    this.o.metrics.buildTime.observe((t1 - t0) / 1000);
    this.o.metrics.builds.inc();
    this.build = build;
    const shared = new Map<string, ProxySnapshot>();
    let proxies = 0;
    for (const conn of this.conns) {
      if (!conn.proxy) continue;
      const snap = this.snapshotFor(build, conn.proxy, shared);
      if (snap) {
        conn.setSnapshot(snap);
        proxies++;
      }
    }
    this.previous = shared;
    const ms = performance.now() - t0;
    this.o.metrics.pushTime.observe(ms / 1000);
    this.lastPush = { version: build.version, at: new Date().toISOString(), ms, proxies };
    try {
      this.o.onBuild?.(build);
    } catch (e) {
      this.o.logger.error({ err: errorMessage(e) }, 'build listener failed');
    }
    this.o.logger.debug({ version: build.version, buildMs: t1 - t0, ms, proxies }, 'push');
  }

  private snapshotFor(
    build: MeshBuild,
    proxy: Proxy,
    shared: Map<string, ProxySnapshot>,
  ): ProxySnapshot | undefined {
    // Proxies of one kind in one namespace serving the same ports get the same snapshot.
    const key = build.proxyKey(proxy);
    const hit = shared.get(key);
    if (hit) return hit;
    try {
      const snap = buildProxySnapshot(build, proxy, this.previous.get(key));
      shared.set(key, snap);
      return snap;
    } catch (e) {
      this.o.metrics.inconsistent.inc();
      this.o.logger.error({ proxy: proxy.id, err: errorMessage(e) }, 'snapshot refused');
      return undefined;
    }
  }
}

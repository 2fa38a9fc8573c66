/**
 * One ADS stream (state of the world). It keeps the rules of REFERENCE §2 "xDS v3 rules":
 * per-type versions and nonces; an ACK gets no answer; a NACK is recorded and the same config is
 * not sent again; requests with a stale nonce are ignored; a newly subscribed name is sent even if
 * unchanged, and a name that does not exist yet is sent once it does; wildcard for Listener and
 * Cluster only; named subscriptions get exactly their subset; no name twice in a response; and
 * make before break: CDS, then EDS, then LDS, then RDS, each waiting for the client's answer to
 * the previous one, with clusters the client's current routes still name kept until they are gone.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { DiscoveryRequest } from '../../lib/xds/discovery-wire.ts';
import {
  TypeUrl,
  XdsTypeOrder,
  XdsTypeShort,
  isXdsType,
  type XdsType,
} from '../../lib/xds/type-urls.ts';
import { parseProxy, type Proxy } from '../model/proxy.ts';
import type { Resource } from '../generate/resource.ts';
import type { ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import type { XdsMetrics } from './metrics.ts';
import type { ResponseCache } from './response-cache.ts';
import type { SendGate } from './send-gate.ts';
import { TypeState, isCompleteType, type Nack } from './subscription.ts';

export interface ConnectionOptions {
  readonly id: string;
  /** Writes one encoded DiscoveryResponse to the stream; `flushed` runs once it left. */
  readonly write: (bytes: Uint8Array, flushed: () => void) => void;
  /** Shared budget of bytes written but not yet flushed. */
  readonly gate: SendGate;
  /** The proxy's snapshot from the current build, once its node is known (undefined: none yet). */
  readonly identify: (proxy: Proxy) => ProxySnapshot | undefined;
  readonly logger: Logger;
  readonly metrics: XdsMetrics;
  /** How long to wait for an ACK before sending the next type anyway. */
  readonly ackTimeoutMs: number;
  /** Encodes responses, shared by streams that send the same thing. */
  readonly responses: ResponseCache;
}

export interface TypeStatus {
  readonly subscribed: number | '*';
  readonly sentVersion: string;
  readonly ackedVersion: string;
  readonly nonce: string;
  readonly resources: number;
  readonly responses: number;
  readonly acks: number;
  readonly nacks: number;
  readonly lastNack: Nack | undefined;
}

export interface ConnectionStatus {
  readonly id: string;
  readonly proxy: string | undefined;
  readonly kind: string | undefined;
  readonly connectedAt: string;
  readonly snapshotVersion: number | undefined;
  readonly types: Readonly<Record<string, TypeStatus>>;
}

export class Connection {
  readonly id: string;
  readonly connectedAt = Date.now();
  proxy: Proxy | undefined;
  private readonly o: ConnectionOptions;
  private readonly types = new Map<XdsType, TypeState>();
  private snapshot: ProxySnapshot | undefined;
  private syncing = false;
  private dirty = false;
  private closed = false;
  /** Gate releases of writes not yet flushed (freed if the stream closes first). */
  private readonly releases = new Set<() => void>();

  constructor(o: ConnectionOptions) {
    this.o = o;
    this.id = o.id;
  }

  /** Handles one request. Throws InvalidInput when the first request has no usable node. */
  onRequest(req: DiscoveryRequest): void {
    if (this.closed) return;
    if (this.proxy === undefined) {
      if (req.node === undefined || req.node.id === '') {
        throw new IstioLiteError(ErrorCode.InvalidInput, 'the first request must carry node.id');
      }
      this.proxy = parseProxy(req.node.id, req.node.metadata);
      this.snapshot = this.o.identify(this.proxy);
      this.o.logger.info(
        { conn: this.id, proxy: this.proxy.id, kind: this.proxy.kind },
        'ADS stream',
      );
    }
    const type = req.typeUrl;
    if (!isXdsType(type)) {
      this.o.logger.debug({ conn: this.id, type }, 'request for a type Pilot does not serve');
      return;
    }
    let st = this.types.get(type);
    if (!st) this.types.set(type, (st = new TypeState(type)));
    if (req.responseNonce !== '') {
      if (req.responseNonce !== st.nonce) {
        this.o.metrics.staleNonces.inc({ type: XdsTypeShort[type] });
        return;
      }
      if (req.errorDetail !== undefined) {
        st.nack(req.errorDetail.message);
        this.o.metrics.nacks.inc({ type: XdsTypeShort[type] });
        this.o.logger.warn(
          {
            conn: this.id,
            type: XdsTypeShort[type],
            version: st.sentVersion,
            error: req.errorDetail.message,
          },
          'NACK',
        );
      } else if (st.ack()) {
        const changedAt = st.sentSnapshot?.changedAt;
        if (changedAt !== undefined) {
          const seconds = (Date.now() - changedAt) / 1000;
          this.o.metrics.convergence.observe({ type: XdsTypeShort[type] }, seconds);
        }
        // Clusters kept for listeners and routes the client has now replaced can go.
        if (type === TypeUrl.Listener || type === TypeUrl.RouteConfiguration) this.sync();
      }
    }
    if (st.subscribe(req.resourceNames)) this.sync();
  }

  /** Swaps in a new snapshot (already checked for consistency) and sends what changed. */
  setSnapshot(s: ProxySnapshot): void {
    if (this.closed) return;
    this.snapshot = s;
    this.sync();
  }

  close(): void {
    this.closed = true;
    for (const release of this.releases) release();
    this.releases.clear();
    for (const st of this.types.values()) st.settle('closed');
  }

  isClosed(): boolean {
    return this.closed;
  }

  status(): ConnectionStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [t, st] of this.types) {
      types[XdsTypeShort[t]] = {
        subscribed: st.wildcard ? '*' : st.names.size,
        sentVersion: st.sentVersion,
        ackedVersion: st.ackedVersion,
        nonce: st.nonce,
        resources: st.sent.size,
        responses: st.responses,
        acks: st.acks,
        nacks: st.nacks,
        lastNack: st.lastNack,
      };
    }
    return {
      id: this.id,
      proxy: this.proxy?.id,
      kind: this.proxy?.kind,
      connectedAt: new Date(this.connectedAt).toISOString(),
      snapshotVersion: this.snapshot?.version,
      types,
    };
  }

  /** Runs passes until nothing changed during the last one; one pass at a time. */
  private sync(): void {
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    this.syncing = true;
    void (async () => {
      try {
        do {
          this.dirty = false;
          await this.pass();
        } while (this.needsAnotherPass());
      } catch (e) {
        this.o.logger.error({ conn: this.id, err: e }, 'push failed');
      } finally {
        this.syncing = false;
      }
    })();
  }

  /** Whether something changed while the last pass ran (read after an await). */
  private needsAnotherPass(): boolean {
    return this.dirty && !this.closed;
  }

  /**
   * One make-before-break pass over the types in order, all from one snapshot. Before going on to
   * the next type it waits for the client's answer to the outstanding response of this one (sent
   * now or in an earlier pass); a fresh NACK ends the pass, so nothing that depends on the refused
   * config follows it.
   */
  private async pass(): Promise<void> {
    const snap = this.snapshot;
    if (!snap) return;
    const pending = XdsTypeOrder.filter((t) => this.types.get(t)?.requested);
    const last = pending[pending.length - 1];
    for (const type of pending) {
      if (this.closed) return;
      const st = this.types.get(type);
      if (!st) continue;
      const out = this.plan(st, snap);
      if (out) await this.send(st, snap, out);
      if (type === last || !st.unsettled()) continue;
      const r = await st.waitForAck(this.o.ackTimeoutMs);
      if (r === 'nack' || r === 'closed') return; // keep the client on its last good config
      if (r === 'timeout') {
        this.o.logger.warn({ conn: this.id, type: XdsTypeShort[type] }, 'no ACK in time, going on');
      }
    }
  }

  /** What to send for a type, or undefined when the client already has it. */
  private plan(st: TypeState, snap: ProxySnapshot): Resource[] | undefined {
    const all = snap.resources.get(st.type) ?? new Map<string, Resource>();
    if (!isCompleteType(st.type)) {
      // EDS and RDS: the subscribed resources that changed (all of them on a first request).
      const out: Resource[] = [];
      for (const n of st.names) {
        const r = all.get(n);
        if (r && (st.mustRespond || st.sent.get(n)?.hash !== r.hash)) out.push(r);
      }
      return out.length > 0 || st.mustRespond ? out : undefined;
    }
    // LDS and CDS: the full subscribed set, sent when anything in it differs.
    const desired: Resource[] = [];
    if (st.wildcard) for (const r of all.values()) desired.push(r);
    for (const n of st.names) {
      const r = st.wildcard ? undefined : all.get(n);
      if (r) desired.push(r);
    }
    if (st.type === TypeUrl.Cluster) this.keepClustersInUse(st, all, desired);
    let changed = st.mustRespond || desired.length !== st.sent.size;
    for (let i = 0; !changed && i < desired.length; i++) {
      const r = desired[i];
      if (r && st.sent.get(r.name)?.hash !== r.hash) changed = true;
    }
    return changed ? desired : undefined;
  }

  /** Make before break: clusters the client's current listeners and routes name stay. */
  private keepClustersInUse(
    cds: TypeState,
    all: ReadonlyMap<string, Resource>,
    desired: Resource[],
  ): void {
    const kept = new Set<string>();
    for (const t of [TypeUrl.Listener, TypeUrl.RouteConfiguration] as const) {
      for (const r of this.types.get(t)?.sent.values() ?? []) {
        for (const c of r.refs.clusters) {
          if (all.has(c) || kept.has(c) || !cds.wants(c)) continue;
          const held = cds.sent.get(c);
          if (held) {
            kept.add(c);
            desired.push(held);
          }
        }
      }
    }
  }

  private async send(
    st: TypeState,
    snap: ProxySnapshot,
    resources: readonly Resource[],
  ): Promise<void> {
    const { nonce, bytes } = this.o.responses.response(snap.version, st.type, resources);
    st.recordSent(nonce, String(snap.version), snap, resources);
    this.o.metrics.pushes.inc({ type: XdsTypeShort[st.type] });
    this.o.metrics.pushBytes.inc({ type: XdsTypeShort[st.type] }, bytes.length);
    const release = await this.o.gate.acquire(bytes.length);
    if (this.closed) {
      release();
      return;
    }
    this.releases.add(release);
    this.o.write(bytes, () => {
      this.releases.delete(release);
      release();
    });
  }
}

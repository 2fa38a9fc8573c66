/**
 * One ADS stream (state of the world). It keeps the xDS v3 rules of docs/reference/pilot.md:
 * per-type versions and nonces; an ACK gets no answer; a NACK is recorded and the same config is
 * not sent again; requests with a stale nonce are ignored; a newly subscribed name is sent even if
 * unchanged, and a name that does not exist yet is sent once it does; wildcard for Listener and
 * Cluster only; named subscriptions get exactly their subset; no name twice in a response; and
 * make before break: CDS, then EDS, then LDS, then RDS, each waiting for the client's answer to
 * the previous one, with clusters the client's current routes still name kept until they are gone.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { SyncState } from '../../lib/xds/debug-pages.ts';
import type { DeltaDiscoveryRequest } from '../../lib/xds/delta-wire.ts';
import type { DiscoveryRequest, NamesHistory, NodeInfo } from '../../lib/xds/discovery-wire.ts';
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
import { planDelta, planFromPrevious, planSotw, type InUse, type Plan } from './plan.ts';
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
  /** State of the world (StreamAggregatedResources) or incremental (DeltaAggregatedResources). */
  readonly mode: 'sotw' | 'delta';
}

export interface TypeStatus {
  readonly state: SyncState;
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
  /**
   * The snapshot the proxy holds in full: no pass running, every response ACKed (none NACKed).
   * Undefined while something is on its way.
   */
  readonly syncedVersion: number | undefined;
  readonly types: Readonly<Record<string, TypeStatus>>;
}

const noneInUse: InUse = new Map();
const noResources: ReadonlyMap<string, Resource> = new Map();

function syncState(st: TypeState): SyncState {
  if (st.nonce === '') return 'NOT SENT';
  if (st.lastNack !== undefined && st.lastNack.nonce === st.nonce) return 'NACKED';
  return st.unsettled() ? 'STALE' : 'SYNCED';
}

export class Connection implements NamesHistory {
  readonly id: string;
  readonly mode: 'sotw' | 'delta';
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
    this.mode = o.mode;
  }

  /** Handles one state-of-the-world request. Throws InvalidInput when the node is unusable. */
  onRequest(req: DiscoveryRequest): void {
    const st = this.begin(req.node, req.typeUrl);
    if (!st || !this.answer(st, req.responseNonce, req.errorDetail)) return;
    if (req.namesUnchanged === true || st.sameNamesKey(req.resourceNamesKey)) return;
    if (st.subscribe(req.resourceNames, req.resourceNamesKey)) this.sync();
  }

  /**
   * Whether names encoded as `key` repeat this stream's last request of `type` (the decoder asks,
   * lib/xds/discovery-wire.ts: an ACK's names are then neither copied nor read).
   */
  sameNames(type: string, key: Uint8Array): boolean {
    return isXdsType(type) && this.types.get(type)?.sameNamesKey(key) === true;
  }

  /** Handles one incremental request. */
  onDeltaRequest(req: DeltaDiscoveryRequest): void {
    const st = this.begin(req.node, req.typeUrl);
    if (!st || !this.answer(st, req.responseNonce, req.errorDetail)) return;
    if (st.subscribeDelta(req.subscribe, req.unsubscribe, req.initialVersions)) this.sync();
  }

  /** Identifies the proxy on the first request; the type's state, or undefined to ignore. */
  private begin(node: NodeInfo | undefined, type: string): TypeState | undefined {
    if (this.closed) return undefined;
    if (this.proxy === undefined) {
      if (node === undefined || node.id === '') {
        throw new IstioLiteError(ErrorCode.InvalidInput, 'the first request must carry node.id');
      }
      this.proxy = parseProxy(node.id, node.metadata);
      this.snapshot = this.o.identify(this.proxy);
      this.o.logger.info(
        { conn: this.id, proxy: this.proxy.id, kind: this.proxy.kind, mode: this.o.mode },
        'ADS stream',
      );
    }
    if (!isXdsType(type)) {
      this.o.logger.debug({ conn: this.id, type }, 'request for a type Pilot does not serve');
      return undefined;
    }
    let st = this.types.get(type);
    if (!st) this.types.set(type, (st = new TypeState(type)));
    return st;
  }

  /**
   * The ACK/NACK part of a request. Returns false for a stale nonce (the request is ignored).
   */
  private answer(
    st: TypeState,
    nonce: string,
    errorDetail: { readonly message: string } | undefined,
  ): boolean {
    const type = st.type;
    if (nonce !== '') {
      if (nonce !== st.nonce) {
        this.o.metrics.staleNonces.inc({ type: XdsTypeShort[type] });
        return false;
      }
      if (errorDetail !== undefined) {
        st.nack(errorDetail.message);
        this.o.metrics.nacks.inc({ type: XdsTypeShort[type] });
        this.o.logger.warn(
          {
            conn: this.id,
            type: XdsTypeShort[type],
            version: st.sentVersion,
            error: errorDetail.message,
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
    return true;
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
        state: syncState(st),
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
      syncedVersion: this.inSync() ? this.snapshot?.version : undefined,
      types,
    };
  }

  /**
   * What the proxy holds as ACKed, per type: the version and resources of its last ACK (Listener
   * and Cluster in full; EDS and RDS the names it asked for). A resource an incremental client
   * said it already had on reconnecting has no content here.
   */
  held(): ReadonlyMap<XdsType, { readonly version: string; readonly resources: Resource[] }> {
    const out = new Map<XdsType, { version: string; resources: Resource[] }>();
    for (const t of XdsTypeOrder) {
      const st = this.types.get(t);
      if (st) out.set(t, { version: st.ackedVersion, resources: [...st.acked.values()] });
    }
    return out;
  }

  private inSync(): boolean {
    if (this.syncing || this.dirty) return false;
    for (const st of this.types.values()) {
      if (st.unsettled() || st.mustRespond) return false;
      if (st.lastNack !== undefined && st.lastNack.nonce === st.nonce) return false;
    }
    return true;
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

  /**
   * What to send for a type, or undefined when the client already has it. When the last plan of
   * this type left nothing to send and nothing it read has changed, only what differs between its
   * resources and these is looked at (plan.ts planFromPrevious).
   */
  private plan(st: TypeState, snap: ProxySnapshot): Plan | undefined {
    const all = snap.resources.get(st.type) ?? noResources;
    const clusterTypes = st.type === TypeUrl.Cluster || st.type === TypeUrl.ClusterLoadAssignment;
    const inUseRev = clusterTypes ? this.heldRoutingRev() : 0;
    const last = st.planned;
    if (last?.planRev === st.planRev && last.inUseRev === inUseRev) {
      const quick = planFromPrevious(st, last.all, all, this.o.mode);
      if (quick) {
        if (quick.result === undefined) st.planned = { all, planRev: st.planRev, inUseRev };
        return quick.result;
      }
    }
    const inUse = clusterTypes ? this.inUseMissingFrom(st.type, all) : noneInUse;
    const plan = this.o.mode === 'delta' ? planDelta(st, all, inUse) : planSotw(st, all, inUse);
    st.planned = plan === undefined ? { all, planRev: st.planRev, inUseRev } : undefined;
    return plan;
  }

  /** Changes to the listeners and routes the client holds (what `inUse` is made of). */
  private heldRoutingRev(): number {
    return (
      (this.types.get(TypeUrl.Listener)?.heldRev ?? 0) +
      (this.types.get(TypeUrl.RouteConfiguration)?.heldRev ?? 0)
    );
  }

  /**
   * Make before break: clusters the client's listeners and routes name (those it ACKed last, and
   * those sent since, which it may not have applied yet), gone from `all` (CDS or EDS
   * resources), each as it was in the snapshot the naming resource was sent from.
   */
  private inUseMissingFrom(type: XdsType, all: ReadonlyMap<string, Resource>): InUse {
    const out = new Map<string, Resource | undefined>();
    const add = (held: ReadonlyMap<string, Resource>, from: ReadonlyMap<string, ProxySnapshot>) => {
      for (const r of held.values()) {
        for (const c of r.refs.clusters) {
          if (all.has(c) || out.get(c) !== undefined) continue;
          out.set(c, from.get(r.name)?.resources.get(type)?.get(c));
        }
      }
    };
    for (const t of [TypeUrl.Listener, TypeUrl.RouteConfiguration] as const) {
      const st = this.types.get(t);
      if (!st) continue;
      add(st.sent, st.sentFrom);
      add(st.acked, st.ackedFrom);
    }
    return out;
  }

  private async send(st: TypeState, snap: ProxySnapshot, plan: Plan): Promise<void> {
    const delta = this.o.mode === 'delta';
    const { nonce, bytes } = delta
      ? this.o.responses.delta(snap.version, st.type, plan)
      : this.o.responses.response(snap.version, st.type, plan.resources);
    const replaceAll = !delta && isCompleteType(st.type);
    st.recordSent(nonce, String(snap.version), snap, plan.resources, plan.removed, replaceAll);
    // What was planned is now sent: planning these resources again finds nothing new.
    const all = snap.resources.get(st.type) ?? noResources;
    const clusterTypes = st.type === TypeUrl.Cluster || st.type === TypeUrl.ClusterLoadAssignment;
    st.planned = { all, planRev: st.planRev, inUseRev: clusterTypes ? this.heldRoutingRev() : 0 };
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

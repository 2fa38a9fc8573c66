/**
 * One resource type on one ADS stream: what the client subscribed to, what it was sent and what it
 * acknowledged. Pure bookkeeping, no I/O; the connection decides when to send.
 */
import { TypeUrl, type XdsType } from '../../lib/xds/type-urls.ts';
import type { Resource } from '../generate/resource.ts';
import type { ProxySnapshot } from '../snapshot/proxy-snapshot.ts';

/** What a reconnecting incremental client says it holds: a version, no content (never resent). */
function heldVersion(typeUrl: XdsType, name: string, version: string): Resource {
  return {
    typeUrl,
    name,
    any: new Uint8Array(),
    hash: version,
    refs: { clusters: [], routes: [], eds: false },
  };
}

/** Listener and Cluster responses carry the full set (omitted = deleted); EDS and RDS need not. */
export function isCompleteType(type: XdsType): boolean {
  return type === TypeUrl.Listener || type === TypeUrl.Cluster;
}

export interface Nack {
  readonly version: string;
  readonly nonce: string;
  readonly message: string;
  readonly at: number;
}

export type AckResult = 'ack' | 'nack' | 'closed' | 'timeout';

export class TypeState {
  readonly type: XdsType;
  /** Wildcard: every resource of the type (Listener and Cluster only). */
  wildcard = false;
  readonly names = new Set<string>();
  /** A request arrived that has no response yet (the first one of the stream). */
  mustRespond = false;
  /** Any request seen for this type. */
  requested = false;
  /** What the client was last sent, by name: what it holds once it ACKs. */
  readonly sent = new Map<string, Resource>();
  /** The snapshot each sent resource came from (what the clusters it names were then). */
  readonly sentFrom = new Map<string, ProxySnapshot>();
  /**
   * What the client held at its last ACK, and the snapshots it came from: until it ACKs what
   * was sent since, it may still use these (and the clusters they name).
   */
  private readonly ackedMap = new Map<string, Resource>();
  private readonly ackedFromMap = new Map<string, ProxySnapshot>();
  /**
   * Changes to `sent` since the last ACK, applied to `acked` when it comes: an ACK of one changed
   * endpoint costs one entry, not a copy of every resource held. `all`: `sent` was replaced as a
   * whole (Listener and Cluster), so the ACK copies it.
   */
  private unacked: { all: boolean; names: Set<string> } = { all: false, names: new Set() };
  nonce = '';
  sentVersion = '';
  sentSnapshot: ProxySnapshot | undefined;
  sentAt = 0;
  ackedVersion = '';
  /** The nonce of the last response the client ACKed or NACKed. */
  private settledNonce = '';
  /** The encoded names of the last state-of-the-world request (see `sameNamesKey`). */
  private namesKey: Buffer | undefined;
  lastNack: Nack | undefined;
  /**
   * Counts changes to what planning this type reads (subscription, `mustRespond`, `sent`), and to
   * what the client holds (`sent`, `acked`: the clusters its listeners and routes name). A plan
   * made at the same counts from the same resources needs no second look (plan.ts).
   */
  planRev = 0;
  heldRev = 0;
  /** The resources, and the counts, of the last plan that left nothing to send. */
  planned:
    | {
        readonly all: ReadonlyMap<string, Resource>;
        readonly planRev: number;
        readonly inUseRev: number;
      }
    | undefined;
  responses = 0;
  acks = 0;
  nacks = 0;
  private waiter: ((r: AckResult) => void) | undefined;

  constructor(type: XdsType) {
    this.type = type;
  }

  get acked(): ReadonlyMap<string, Resource> {
    return this.ackedMap;
  }

  get ackedFrom(): ReadonlyMap<string, ProxySnapshot> {
    return this.ackedFromMap;
  }

  /** Notes a change to `sent[name]` for the next ACK. */
  private touched(name: string): void {
    if (!this.unacked.all) this.unacked.names.add(name);
  }

  /**
   * Whether a request with names encoded as `key` (DiscoveryRequest.resourceNamesKey) repeats the
   * last state-of-the-world request's names exactly, so its subscription cannot have changed and
   * its names need not be read (an ACK, the common case).
   */
  sameNamesKey(key: Uint8Array | undefined): boolean {
    return (
      this.requested &&
      key !== undefined &&
      this.namesKey !== undefined &&
      Buffer.from(key.buffer, key.byteOffset, key.byteLength).equals(this.namesKey)
    );
  }

  /** Applies the names of a request; returns whether the subscription changed. */
  subscribe(names: readonly string[], key?: Uint8Array): boolean {
    this.namesKey =
      key === undefined ? undefined : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    if (this.requested && this.sameAs(names)) return false;
    const explicit = names.filter((n) => n !== '*');
    const wildcard =
      isCompleteType(this.type) &&
      (names.includes('*') || (names.length === 0 && (!this.requested || this.wildcard)));
    let changed = wildcard !== this.wildcard;
    this.wildcard = wildcard;
    const next = new Set(explicit);
    for (const n of this.names) {
      if (!next.has(n)) {
        this.names.delete(n);
        // Forget it was sent: subscribing again must bring it again.
        this.forget(n);
        changed = true;
      }
    }
    for (const n of next) {
      if (!this.names.has(n)) {
        this.names.add(n);
        this.forget(n);
        changed = true;
      }
    }
    if (!this.requested) {
      this.requested = true;
      this.mustRespond = true;
      changed = true;
    }
    if (changed) this.planRev++;
    return changed;
  }

  /** Whether `names` is exactly the current subscription (the common case: an ACK). */
  private sameAs(names: readonly string[]): boolean {
    // After the first request an empty list leaves wildcard as it was.
    if (names.length === 0) return this.names.size === 0;
    if (this.wildcard || names.length !== this.names.size) return false;
    for (const n of names) if (!this.names.has(n)) return false;
    return true;
  }

  private forget(name: string): void {
    this.sent.delete(name);
    this.sentFrom.delete(name);
    this.touched(name);
    this.planRev++;
    this.heldRev++;
  }

  /** Whether the client asked for `name` (explicitly or as a wildcard subscriber). */
  wants(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /**
   * Applies an incremental request: names added and dropped, and (on a reconnect) the versions the
   * client already holds. Returns whether anything changed.
   */
  subscribeDelta(
    subscribe: readonly string[],
    unsubscribe: readonly string[],
    held: ReadonlyMap<string, string>,
  ): boolean {
    let changed = false;
    this.namesKey = undefined;
    if (!this.requested) {
      this.requested = true;
      this.mustRespond = true;
      changed = true;
      // The first request of Listener or Cluster with no names is a wildcard (legacy form).
      this.wildcard = isCompleteType(this.type) && subscribe.length === 0;
      for (const [name, version] of held) {
        this.sent.set(name, heldVersion(this.type, name, version));
        this.touched(name);
      }
    }
    for (const n of subscribe) {
      if (n === '*') {
        changed = changed || !this.wildcard;
        this.wildcard = isCompleteType(this.type);
      } else if (!this.names.has(n)) {
        this.names.add(n);
        if (!held.has(n)) this.forget(n);
        changed = true;
      }
    }
    for (const n of unsubscribe) {
      if (n === '*') {
        changed = changed || this.wildcard;
        this.wildcard = false;
      } else if (this.names.delete(n)) {
        this.forget(n);
        changed = true;
      }
    }
    if (changed) {
      this.planRev++;
      this.heldRev++;
    }
    return changed;
  }

  /** Records a response: SotW Listener/Cluster replace what the client holds, the rest amend it. */
  recordSent(
    nonce: string,
    version: string,
    snap: ProxySnapshot,
    resources: readonly Resource[],
    removed: readonly string[],
    replaceAll: boolean,
  ): void {
    if (replaceAll) {
      this.sent.clear();
      this.sentFrom.clear();
      this.unacked = { all: true, names: new Set() };
    }
    for (const r of resources) {
      this.sent.set(r.name, r);
      this.sentFrom.set(r.name, snap);
      this.touched(r.name);
    }
    for (const n of removed) this.forget(n);
    this.nonce = nonce;
    this.sentVersion = version;
    this.sentSnapshot = snap;
    this.sentAt = Date.now();
    this.mustRespond = false;
    this.responses++;
    this.planRev++;
    this.heldRev++;
  }

  /** Records an ACK of the latest response; true the first time that response is ACKed. */
  ack(): boolean {
    const first = this.settledNonce !== this.nonce;
    if (first) {
      const u = this.unacked;
      if (u.all) {
        this.ackedMap.clear();
        this.ackedFromMap.clear();
      }
      for (const n of u.all ? this.sent.keys() : u.names) {
        const r = this.sent.get(n);
        const from = this.sentFrom.get(n);
        if (r === undefined) this.ackedMap.delete(n);
        else this.ackedMap.set(n, r);
        if (from === undefined) this.ackedFromMap.delete(n);
        else this.ackedFromMap.set(n, from);
      }
      this.unacked = { all: false, names: new Set() };
      this.heldRev++;
    }
    this.acks++;
    this.ackedVersion = this.sentVersion;
    this.settledNonce = this.nonce;
    this.settle('ack');
    return first;
  }

  nack(message: string): void {
    this.nacks++;
    this.lastNack = { version: this.sentVersion, nonce: this.nonce, message, at: Date.now() };
    this.settledNonce = this.nonce;
    this.settle('nack');
  }

  /** Whether the latest response has not been ACKed or NACKed yet. */
  unsettled(): boolean {
    return this.nonce !== '' && this.settledNonce !== this.nonce;
  }

  /** Waits until the latest response is ACKed or NACKed (or the stream ends, or `ms` pass). */
  waitForAck(ms: number): Promise<AckResult> {
    if (this.settledNonce === this.nonce) {
      return Promise.resolve(this.lastNack?.nonce === this.nonce ? 'nack' : 'ack');
    }
    this.settle('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve('timeout');
      }, ms);
      this.waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  settle(r: AckResult): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.(r);
  }
}

/**
 * What one bench client holds, read off the wire next to bench/pilot's EnvoyLikeClient (which
 * subscribes and ACKs like Envoy): the outbound clusters of its last CDS and the endpoint count of
 * each load assignment, so the bench knows when a client holds every registry service with all its
 * endpoints; and watches "this address is (or is no longer) in that cluster's load assignment".
 * Protobuf fields are scanned, not decoded: 100 clients x 1,000 load assignments stay cheap.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RawResponse } from '../../pilot/testing/raw-ads-client.ts';
import type { EnvoyLikeClient } from '../pilot/envoy-like-client.ts';

/** A varint at `pos`: [value, position after it]. */
function varint(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  let i = pos;
  for (; i < b.length; i++) {
    const x = b[i] ?? 0;
    v += (x & 0x7f) * mul;
    mul *= 128;
    if ((x & 0x80) === 0) return [v, i + 1];
  }
  return [v, i];
}

/** Calls `f(field, start, end)` for each length-delimited field of a message; skips the others. */
function eachBytesField(
  b: Uint8Array,
  f: (field: number, start: number, end: number) => void,
): void {
  let pos = 0;
  while (pos < b.length) {
    const [tag, p] = varint(b, pos);
    const wire = tag & 7;
    if (wire === 0) pos = varint(b, p)[1];
    else if (wire === 1) pos = p + 8;
    else if (wire === 5) pos = p + 4;
    else if (wire === 2) {
      const [len, q] = varint(b, p);
      f(Math.floor(tag / 8), q, q + len);
      pos = q + len;
    } else return; // groups: not in xDS messages
  }
}

/** Field 1 as a string: Cluster.name, ClusterLoadAssignment.cluster_name. */
export function nameOf(b: Uint8Array): string {
  let name = '';
  eachBytesField(b, (field, start, end) => {
    if (field === 1 && name === '')
      name = Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
  });
  return name;
}

/** lb_endpoints (field 2) over every LocalityLbEndpoints (field 2) of a ClusterLoadAssignment. */
export function endpointCount(cla: Uint8Array): number {
  let n = 0;
  eachBytesField(cla, (field, start, end) => {
    if (field !== 2) return;
    eachBytesField(cla.subarray(start, end), (inner) => {
      if (inner === 2) n++;
    });
  });
  return n;
}

/**
 * The bytes SocketAddress.address (field 2) has on the wire for `ip`: tag, length, text. Matching
 * them (not the bare text) keeps 10.0.0.1 from matching inside 10.0.0.10.
 */
export function addressNeedle(ip: string): Buffer {
  const text = Buffer.from(ip);
  return Buffer.concat([Buffer.from([0x12, text.length]), text]);
}

interface Watch {
  readonly cluster: string;
  readonly needle: Buffer;
  readonly present: boolean;
  readonly resolve: (at: number) => void;
}

export class Holdings {
  /** When the client first held every expected cluster with `instances` endpoints each. */
  completeAt: number | undefined;
  private readonly expected: ReadonlySet<string>;
  private readonly instances: number;
  private inCds = 0;
  /** Expected clusters whose last load assignment has `instances` endpoints. */
  private readonly full = new Set<string>();
  private watch: Watch | undefined;

  /** Listens to `client`'s responses after its own handler (which subscribes and ACKs). */
  constructor(client: EnvoyLikeClient, expected: readonly string[], instances: number) {
    this.expected = new Set(expected);
    this.instances = instances;
    const inner = client.raw.onResponse;
    client.raw.onResponse = (r) => {
      const now = Date.now();
      inner?.(r);
      this.onResponse(r, now);
    };
  }

  /**
   * Resolves with the time the client first gets a load assignment of `cluster` that has `ip`
   * (`present`) or no longer has it.
   */
  waitFor(cluster: string, ip: string, present: boolean): Promise<number> {
    return new Promise((resolve) => {
      this.watch = { cluster, needle: addressNeedle(ip), present, resolve };
    });
  }

  /** How many expected clusters it holds with all their endpoints (for a progress line). */
  progress(): { cds: number; eds: number } {
    return { cds: this.inCds, eds: this.full.size };
  }

  private onResponse(r: RawResponse, now: number): void {
    if (r.typeUrl === TypeUrl.Cluster) {
      if (this.completeAt !== undefined) return;
      let n = 0;
      for (const x of r.resources) if (this.expected.has(nameOf(x.value))) n++;
      this.inCds = n;
    } else if (r.typeUrl === TypeUrl.ClusterLoadAssignment) {
      const w = this.watch;
      for (const x of r.resources) {
        const name = nameOf(x.value);
        if (w?.cluster === name) {
          const v = x.value;
          const has = Buffer.from(v.buffer, v.byteOffset, v.byteLength).includes(w.needle);
          if (has === w.present) {
            this.watch = undefined;
            w.resolve(now);
          }
        }
        if (this.completeAt === undefined && this.expected.has(name)) {
          if (endpointCount(x.value) === this.instances) this.full.add(name);
          else this.full.delete(name);
        }
      }
    } else return;
    if (
      this.completeAt === undefined &&
      this.inCds === this.expected.size &&
      this.full.size === this.expected.size
    ) {
      this.completeAt = now;
    }
  }
}

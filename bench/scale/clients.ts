/**
 * bench:scale's ADS clients: bench/pilot's EnvoyLikeClient (subscribes and ACKs like Envoy), each
 * with what it holds read off the wire (bench/registries' scanners): per outbound cluster of the
 * mesh, the endpoint count of its last load assignment; and, for one watched cluster, every load
 * assignment it gets with its arrival time. The bench asks "does every client hold every service
 * with N endpoints?" and, once it knows which address changed, "when did each client first hold
 * (or lose) it?", so a change that arrives before the bench learns the address still counts.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RawResponse } from '../../pilot/testing/raw-ads-client.ts';
import { EnvoyLikeClient, sidecarNode } from '../pilot/envoy-like-client.ts';
import { addressNeedle, endpointCount, nameOf } from '../registries/holdings.ts';

interface Recording {
  readonly cluster: string;
  readonly got: { readonly at: number; readonly bytes: Buffer }[];
}

class Held {
  /** Endpoints of each cluster's last load assignment. */
  readonly endpoints = new Map<string, number>();
  clusters = new Set<string>();
  recording: Recording | undefined;

  onResponse(r: RawResponse, now: number): void {
    if (r.typeUrl === TypeUrl.Cluster) {
      this.clusters = new Set(r.resources.map((x) => nameOf(x.value)));
      return;
    }
    if (r.typeUrl !== TypeUrl.ClusterLoadAssignment) return;
    const rec = this.recording;
    for (const x of r.resources) {
      const name = nameOf(x.value);
      this.endpoints.set(name, endpointCount(x.value));
      if (rec?.cluster === name) {
        const v = x.value;
        rec.got.push({ at: now, bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength) });
      }
    }
  }

  /** When the first recorded assignment with (or without) `needle` arrived. */
  first(needle: Buffer, present: boolean): number | undefined {
    return this.recording?.got.find((g) => g.bytes.includes(needle) === present)?.at;
  }
}

export class BenchClients {
  private readonly clients: EnvoyLikeClient[] = [];
  private readonly held: Held[] = [];

  constructor(xdsAddress: string, count: number) {
    for (let k = 0; k < count; k++) {
      const c = new EnvoyLikeClient(xdsAddress, sidecarNode(k, 'bench-clients'), ['80']);
      const h = new Held();
      const inner = c.raw.onResponse;
      c.raw.onResponse = (r) => {
        const now = Date.now();
        inner?.(r);
        h.onResponse(r, now);
      };
      this.clients.push(c);
      this.held.push(h);
    }
  }

  start(): void {
    for (const c of this.clients) c.start();
  }

  /** How many clients hold every cluster of `expected` with exactly `endpoints` endpoints. */
  holding(expected: readonly string[], endpoints: number): number {
    let n = 0;
    for (const h of this.held) {
      if (expected.every((name) => h.clusters.has(name) && h.endpoints.get(name) === endpoints))
        n++;
    }
    return n;
  }

  /** From now on, every client records each load assignment of `cluster` it gets. */
  record(cluster: string): void {
    for (const h of this.held) h.recording = { cluster, got: [] };
  }

  /**
   * When each client first got a recorded assignment with `ip` (present) or without it
   * (undefined: not yet).
   */
  firstSeen(ip: string, present: boolean): (number | undefined)[] {
    const needle = addressNeedle(ip);
    return this.held.map((h) => h.first(needle, present));
  }

  /** Streams that ended (Pilot closed them or failed). */
  broken(): number {
    return this.clients.filter((c) => c.raw.status !== undefined).length;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

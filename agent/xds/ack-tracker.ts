/**
 * What the proxy has accepted from Pilot, learned by watching its ADS stream through the agent:
 * a response of a type followed by a request echoing its nonce without `error_detail` is an ACK.
 * The proxy counts as configured once it has ACKed clusters (CDS) and listeners (LDS), and every
 * route configuration those listeners name over RDS. Envoy keeps its config when the stream to
 * Pilot drops, so an ACK stays until `reset` (Envoy restarted with nothing).
 *
 * Not thread-safe by design: one event loop; the proxy calls it in stream order.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RequestPeek, ResponsePeek } from '../wire/discovery.ts';
import { resourceName } from '../wire/discovery.ts';
import { routeNamesOf } from '../wire/listener-routes.ts';

interface SentResponse {
  readonly nonce: string;
  readonly version: string;
  readonly names: readonly string[];
  /** For LDS: the route configurations its listeners name. */
  readonly routes: readonly string[];
}

export interface AckState {
  readonly typeUrl: string;
  readonly version: string;
  readonly resources: number;
  readonly at: string;
}

export interface NackInfo {
  readonly typeUrl: string;
  readonly version: string;
  readonly message: string;
  readonly at: string;
}

export class AckTracker {
  private readonly sent = new Map<string, SentResponse>();
  private readonly acked = new Map<string, AckState>();
  private readonly routesAcked = new Set<string>();
  private routesNeeded: readonly string[] = [];
  private lastNackInfo: NackInfo | undefined;
  private readonly onAckListeners: ((typeUrl: string) => void)[] = [];

  /** A response from Pilot on its way to the proxy. */
  onResponse(r: ResponsePeek): void {
    const names = r.resources.map((x) => resourceName(x.typeUrl, x.value));
    const routes =
      r.typeUrl === TypeUrl.Listener
        ? [...new Set(r.resources.flatMap((x) => routeNamesOf(x.value)))]
        : [];
    this.sent.set(r.typeUrl, { nonce: r.nonce, version: r.versionInfo, names, routes });
  }

  /** A request from the proxy on its way to Pilot. */
  onRequest(q: RequestPeek): 'ack' | 'nack' | 'other' {
    const last = this.sent.get(q.typeUrl);
    if (last === undefined || q.responseNonce === '' || q.responseNonce !== last.nonce) {
      return 'other';
    }
    const at = new Date().toISOString();
    if (q.errorDetail) {
      this.lastNackInfo = {
        typeUrl: q.typeUrl,
        version: last.version,
        message: q.errorDetail.message,
        at,
      };
      return 'nack';
    }
    this.acked.set(q.typeUrl, {
      typeUrl: q.typeUrl,
      version: last.version,
      resources: last.names.length,
      at,
    });
    if (q.typeUrl === TypeUrl.Listener) this.routesNeeded = last.routes;
    if (q.typeUrl === TypeUrl.RouteConfiguration)
      for (const n of last.names) this.routesAcked.add(n);
    for (const l of this.onAckListeners) l(q.typeUrl);
    return 'ack';
  }

  onAck(listener: (typeUrl: string) => void): void {
    this.onAckListeners.push(listener);
  }

  /** Why the proxy is not configured yet, or undefined. */
  notReady(): string | undefined {
    const missing: string[] = [];
    if (!this.acked.has(TypeUrl.Cluster)) missing.push('clusters (CDS)');
    if (!this.acked.has(TypeUrl.Listener)) missing.push('listeners (LDS)');
    const routes = this.routesNeeded.filter((n) => !this.routesAcked.has(n));
    if (routes.length > 0) missing.push(`routes (RDS) ${routes.join(', ')}`);
    if (missing.length === 0) return undefined;
    const nack = this.lastNackInfo ? `; last NACK: ${this.lastNackInfo.message}` : '';
    return `not yet received from Pilot and ACKed: ${missing.join('; ')}${nack}`;
  }

  /** The latest ACK of each type (debug page, logs). */
  state(): { acked: AckState[]; routesNeeded: readonly string[]; lastNack: NackInfo | undefined } {
    return {
      acked: [...this.acked.values()],
      routesNeeded: this.routesNeeded,
      lastNack: this.lastNackInfo,
    };
  }

  /** A new stream: responses of the old one can no longer be ACKed. */
  streamReset(): void {
    this.sent.clear();
  }

  /** The proxy restarted with no config: forget every ACK. */
  reset(): void {
    this.sent.clear();
    this.acked.clear();
    this.routesAcked.clear();
    this.routesNeeded = [];
  }
}

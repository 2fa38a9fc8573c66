/**
 * Encoded DiscoveryResponses shared between streams. Proxies that get the same resources from the
 * same build (a push to a hundred sidecars of one namespace) get the same bytes, encoded once.
 * That needs the same nonce too, so the nonce is derived from the content: build version plus a
 * digest of the resources. A stream never gets two different responses under one nonce (equal
 * nonce means equal content), which is all the protocol asks of a nonce.
 */
import { createHash } from 'node:crypto';
import { encodeDeltaDiscoveryResponse } from '../../lib/xds/delta-wire.ts';
import { encodeDiscoveryResponse } from '../../lib/xds/discovery-wire.ts';
import type { XdsType } from '../../lib/xds/type-urls.ts';
import type { Resource } from '../generate/resource.ts';

export interface EncodedResponse {
  readonly nonce: string;
  readonly bytes: Uint8Array;
}

export class ResponseCache {
  private readonly controlPlane: string;
  /** By build version; only the newest few versions are kept. */
  private readonly byVersion = new Map<number, Map<string, Uint8Array>>();
  private readonly keepVersions: number;

  constructor(controlPlane: string, keepVersions = 2) {
    this.controlPlane = controlPlane;
    this.keepVersions = keepVersions;
  }

  /** A state-of-the-world response. */
  response(version: number, type: XdsType, resources: readonly Resource[]): EncodedResponse {
    const nonce = this.nonce('sotw', version, type, resources, []);
    return this.cached(version, nonce, () =>
      encodeDiscoveryResponse({
        versionInfo: String(version),
        resources: resources.map((r) => r.any),
        typeUrl: type,
        nonce,
        controlPlane: this.controlPlane,
      }),
    );
  }

  /** An incremental response: resources with their versions (content hashes), and removals. */
  delta(
    version: number,
    type: XdsType,
    plan: { readonly resources: readonly Resource[]; readonly removed: readonly string[] },
  ): EncodedResponse {
    const nonce = this.nonce('delta', version, type, plan.resources, plan.removed);
    return this.cached(version, nonce, () =>
      encodeDeltaDiscoveryResponse({
        systemVersionInfo: String(version),
        resources: plan.resources.map((r) => ({ name: r.name, version: r.hash, any: r.any })),
        typeUrl: type,
        removed: plan.removed,
        nonce,
        controlPlane: this.controlPlane,
      }),
    );
  }

  private nonce(
    mode: string,
    version: number,
    type: XdsType,
    resources: readonly Resource[],
    removed: readonly string[],
  ): string {
    const h = createHash('sha256').update(mode).update(type);
    for (const r of resources) h.update(r.name).update('\0').update(r.hash).update('\0');
    for (const n of removed) h.update('-').update(n).update('\0');
    return `${version}-${h.digest('base64url').slice(0, 22)}`;
  }

  private cached(version: number, nonce: string, encode: () => Uint8Array): EncodedResponse {
    let m = this.byVersion.get(version);
    if (!m) {
      m = new Map();
      this.byVersion.set(version, m);
      const versions = [...this.byVersion.keys()].sort((a, b) => b - a);
      for (const old of versions.slice(this.keepVersions)) this.byVersion.delete(old);
    }
    let bytes = m.get(nonce);
    if (!bytes) {
      bytes = encode();
      m.set(nonce, bytes);
    }
    return { nonce, bytes };
  }
}

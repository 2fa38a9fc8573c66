/**
 * A generated xDS resource, encoded once: the `Any` bytes every response carries, a hash to tell
 * whether it changed, and the names it refers to, so a snapshot can be checked for consistency and
 * a push can keep clusters a client still uses (make before break) without decoding anything.
 */
import { createHash } from 'node:crypto';
import { encodeAny } from '../../lib/xds/discovery-wire.ts';
import { encodeMessage } from '../../lib/xds/protos.ts';
import type { XdsType } from '../../lib/xds/type-urls.ts';

export interface Refs {
  /** Clusters this resource routes to (listeners' TCP proxies, route configs' routes). */
  readonly clusters: readonly string[];
  /** Route configurations this listener asks for over RDS. */
  readonly routes: readonly string[];
  /** For a cluster: whether it takes its endpoints from EDS (so a ClusterLoadAssignment must exist). */
  readonly eds: boolean;
}

export interface Resource {
  readonly typeUrl: XdsType;
  readonly name: string;
  /** The encoded `google.protobuf.Any`. */
  readonly any: Uint8Array;
  /** Content hash of `any`; equal hashes mean nothing to send. */
  readonly hash: string;
  readonly refs: Refs;
}

const noRefs: Refs = { clusters: [], routes: [], eds: false };

export function makeResource(
  typeUrl: XdsType,
  name: string,
  message: object,
  refs: Partial<Refs> = {},
): Resource {
  const any = encodeAny(typeUrl, encodeMessage(typeUrl, message));
  const hash = createHash('sha256').update(any).digest('base64url').slice(0, 22);
  return { typeUrl, name, any, hash, refs: { ...noRefs, ...refs } };
}

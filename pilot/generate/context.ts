/** What every generator reads besides the registry: the mesh-wide settings. */
import { durationMs } from '../../lib/config/values.ts';
import type { MeshConfig } from '../../lib/mesh-config.ts';

export interface GenContext {
  readonly mesh: MeshConfig;
  /** Upstream connect timeout, from the mesh's proxy `connectTimeout`. */
  readonly connectTimeoutMs: number;
  /** The cluster's DNS domain (`cluster.local`). */
  readonly domain: string;
}

export function genContext(mesh: MeshConfig, domain = 'cluster.local'): GenContext {
  return { mesh, connectTimeoutMs: durationMs(mesh.defaultConfig.connectTimeout), domain };
}

/** Whether sidecars talk mTLS to peers that have a sidecar. */
export function meshTls(ctx: GenContext): boolean {
  return ctx.mesh.authPolicy !== 'NONE';
}

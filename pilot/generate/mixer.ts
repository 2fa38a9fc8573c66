/**
 * Which Mixer client filters sidecars get, as Istio 0.2 placed them: checks on the server side
 * (the inbound listener's ext_authz, HTTP and network), reports from both sides (gRPC access logs
 * on every service chain of the inbound and outbound listeners), all sent to the local agent
 * (lib/xds/agent-filters.ts), which talks to Mixer. Nothing when the mesh has no Mixer address:
 * the injector then starts the agent without one. Gateways and proxyless clients get none.
 *
 * What Envoy cannot see travels as carrier entries (lib/mixer/envoy-attributes.ts): ext_authz
 * `context_extensions` and access log `custom_tags`. They hold only what every proxy sharing the
 * listener shares (snapshots are shared by proxy key), never one pod's labels.
 */
import type { MeshConfig } from '../../lib/mesh-config.ts';
import type { Carrier } from '../../lib/xds/agent-filters.ts';

export interface MixerFilters {
  /** ext_authz on the inbound listener (mesh `mixerCheckServer`). */
  readonly check: boolean;
  /** Access logs on both listeners (mesh `mixerReportServer`). */
  readonly report: boolean;
}

export const noMixer: MixerFilters = { check: false, report: false };

export function mixerFilters(mesh: MeshConfig): MixerFilters {
  return { check: mesh.mixerCheckServer !== '', report: mesh.mixerReportServer !== '' };
}

export function sameMixer(a: MixerFilters, b: MixerFilters): boolean {
  return a.check === b.check && a.report === b.report;
}

/** Carrier entries saying which side of the connection reports or checks. */
export function reporter(kind: 'inbound' | 'outbound', extra: Carrier = {}): Carrier {
  return { 'context.reporter.kind': kind, ...extra };
}

/**
 * Which Mixer client filters proxies get, all sent to the local agent (lib/xds/agent-filters.ts),
 * which talks to Mixer. Nothing when the mesh has no Mixer address: the injector then starts the
 * agent without one, and the chart the gateways.
 *
 * - Sidecars, as Istio 0.2 placed them: checks on the server side (the inbound listener's
 *   ext_authz, HTTP and network), reports from both sides (gRPC access logs on every service chain
 *   of the inbound and outbound listeners), `context.reporter.kind` `inbound` or `outbound`.
 * - Gateways (ingress.ts, egress.ts): ext_authz and an access log on every listener, so traffic
 *   entering or leaving the mesh is checked and reported at the edge, also toward backends
 *   without a sidecar. A gateway reports as the client of what it forwards, as later Istio's
 *   gateways do: `context.reporter.kind` `outbound`; its agent adds itself as the source
 *   (agent/mixer/reporter.ts), so a rule names a gateway by `source.labels["istio"]`
 *   (docs/reference/mixer.md, "Who reports"). Each route carries its backend as
 *   `destination.service`, since a check comes before the upstream is picked.
 * - Proxyless gRPC clients get none.
 *
 * What Envoy cannot see travels as carrier entries (lib/mixer/envoy-attributes.ts): ext_authz
 * `context_extensions` and access log `custom_tags`. They hold only what every proxy sharing the
 * listener shares (snapshots are shared by proxy key), never one pod's labels.
 */
import type { MeshConfig } from '../../lib/mesh-config.ts';
import type { Carrier } from '../../lib/xds/agent-filters.ts';

export interface MixerFilters {
  /** ext_authz on sidecars' inbound listener and on gateways (mesh `mixerCheckServer`). */
  readonly check: boolean;
  /** Access logs on sidecars' two listeners and on gateways (mesh `mixerReportServer`). */
  readonly report: boolean;
}

export const noMixer: MixerFilters = { check: false, report: false };

export function mixerFilters(mesh: MeshConfig): MixerFilters {
  return { check: mesh.mixerCheckServer !== '', report: mesh.mixerReportServer !== '' };
}

export function sameMixer(a: MixerFilters, b: MixerFilters): boolean {
  return a.check === b.check && a.report === b.report;
}

/** A cache key part: resources built with equal keys have the same Mixer filters. */
export function mixerKey(m: MixerFilters): string {
  return `${m.check ? 'c' : ''}${m.report ? 'r' : ''}`;
}

/** Carrier entries saying which side of the connection reports or checks. */
export function reporter(kind: 'inbound' | 'outbound', extra: Carrier = {}): Carrier {
  return { 'context.reporter.kind': kind, ...extra };
}

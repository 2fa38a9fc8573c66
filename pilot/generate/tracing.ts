/**
 * The `tracing` field of the HTTP connection managers Pilot sends sidecars and gateways. Envoy
 * starts spans only on a connection manager that has it: a tracer in the bootstrap alone does
 * nothing. The tracer itself (Zipkin, to the agent's `zipkin` cluster) stays in the bootstrap the
 * agent writes when it has a collector; a connection manager that names no provider uses the
 * bootstrap's (docs/reference/tracing.md, "Envoy"), so a proxy without a collector gets no tracer
 * and sends nothing, and none is NACKed for a cluster it lacks.
 *
 * On when the mesh enables tracing (`enableTracing`, default true as in 0.2) and names a collector
 * (`defaultConfig.zipkinAddress`). Requests that carry no decision are sampled at
 * `defaultConfig.tracing.sampling` percent (default 1, as modern Istio); a caller's decision
 * (`x-b3-sampled`, `traceparent` flags) and `x-client-trace-id` are honoured at 100%, as Envoy's
 * defaults and modern Istio have them.
 */
import type { MeshConfig } from '../../lib/mesh-config.ts';
import type { HttpConnectionManager } from '../../lib/xds/types.ts';

export interface HcmTracing {
  /** Percent (0–100) of requests without a decision that start a trace. */
  readonly randomSampling: number;
}

export function hcmTracing(mesh: MeshConfig): HcmTracing | undefined {
  if (!mesh.enableTracing || mesh.defaultConfig.zipkinAddress === '') return undefined;
  return { randomSampling: mesh.defaultConfig.tracing.sampling };
}

export function sameTracing(a: HcmTracing | undefined, b: HcmTracing | undefined): boolean {
  return a?.randomSampling === b?.randomSampling;
}

/** The connection manager's field (envoy.type.v3.Percent values; Envoy's default is 100%). */
export function tracingField(t: HcmTracing): NonNullable<HttpConnectionManager['tracing']> {
  return {
    client_sampling: { value: 100 },
    random_sampling: { value: t.randomSampling },
    overall_sampling: { value: 100 },
  };
}

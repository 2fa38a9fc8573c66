/**
 * Who reports: what the agent adds to every attribute set it checks or reports, since Envoy does
 * not know it and Pilot's config is shared by every replica (docs/reference/mixer.md, "Who
 * reports").
 *
 * - Every proxy: `context.reporter.uid`, `kubernetes://<pod>.<namespace>` (Pilot's listener config
 *   already carries `context.reporter.kind`).
 * - A gateway (router mode) is the client of the request it forwards, as later Istio's gateways
 *   report (`context.reporter.kind` `outbound`): it is the source, so `source.ip` is its pod's,
 *   from which Mixer adds the pod's uid, name, namespace, labels and service account as it does
 *   for a sidecar's peers (mixer/workload-attributes.ts); Envoy's downstream peer becomes
 *   `origin.ip` (lib/mixer/envoy-attributes.ts). So a gateway's attribute sets are no larger than a
 *   sidecar's.
 */
import { authzAttributes, type AuthzAttributes } from '../../lib/mixer/authz-wire.ts';
import {
  attributesFromHttpLog,
  attributesFromTcpLog,
  gatewayAttributesFromHttpLog,
  gatewayAttributesFromTcpLog,
} from '../../lib/mixer/envoy-attributes.ts';
import type { MutableAttributes } from '../../lib/mixer/attribute-bag.ts';
import { IpAddress, type Value } from '../../lib/mixer/value.ts';
import type { AgentMode, PodIdentity } from '../settings.ts';

export interface Reporter {
  /** An ext_authz CheckRequest's bytes → the attributes to check (throws on bad bytes). */
  fromAuthz(bytes: Uint8Array): AuthzAttributes;
  /** One HTTP access log entry → the attributes to report. */
  fromHttpLog(entry: unknown): Map<string, Value>;
  /** One TCP access log entry → the attributes to report. */
  fromTcpLog(entry: unknown): Map<string, Value>;
}

export function podUid(pod: Pick<PodIdentity, 'name' | 'namespace'>): string {
  return `kubernetes://${pod.name}.${pod.namespace}`;
}

export function reporterFor(mode: AgentMode, pod: PodIdentity): Reporter {
  const uid = podUid(pod);
  if (mode === 'sidecar') {
    const stamp = <B extends MutableAttributes>(bag: B): B => {
      bag.set('context.reporter.uid', uid);
      return bag;
    };
    return {
      fromAuthz: (b) => {
        const a = authzAttributes(b);
        stamp(a.bag);
        return a;
      },
      fromHttpLog: (e) => stamp(attributesFromHttpLog(e)),
      fromTcpLog: (e) => stamp(attributesFromTcpLog(e)),
    };
  }
  const ip = IpAddress.parse(pod.ip);
  const stamp = <B extends MutableAttributes>(bag: B): B => {
    bag.set('context.reporter.uid', uid);
    if (ip !== undefined) bag.set('source.ip', ip);
    return bag;
  };
  return {
    fromAuthz: (b) => {
      const a = authzAttributes(b, true);
      stamp(a.bag);
      return a;
    },
    fromHttpLog: (e) => stamp(gatewayAttributesFromHttpLog(e)),
    fromTcpLog: (e) => stamp(gatewayAttributesFromTcpLog(e)),
  };
}

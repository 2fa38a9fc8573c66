/**
 * Workload attributes from the pod registry, as Istio 0.2's Kubernetes attribute generator made
 * them: an unmodified Envoy knows the peer's and its own IP but not their pods, so for `source` and
 * `destination` Mixer looks the IP up and fills `<side>.name`, `.namespace`, `.labels`, `.uid`
 * (`kubernetes://<pod>.<namespace>`) and `.serviceAccount` when the request did not carry them.
 * Then the 0.2 rules users know (`source.labels["version"] == "v3"`) work on a real cluster.
 *
 * A Check's answer must name what it depended on in terms of what the caller sent, or a client
 * cache (the agent's) would reuse it for another pod: a reference to a filled-in attribute, present
 * or absent, becomes a reference to the IP it came from (`source.ip` EXACT, or ABSENCE without one).
 */
import type { AttributeRef } from '../lib/mixer/referenced.ts';
import { refKey } from '../lib/mixer/referenced.ts';
import { IpAddress, type Value } from '../lib/mixer/value.ts';

export interface Workload {
  readonly name: string;
  readonly namespace: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly serviceAccount: string;
}

/** Pods by IP (mixer/kube/pod-workloads.ts watches them). */
export interface WorkloadLookup {
  byIp(ip: string): Workload | undefined;
}

const sides = ['source', 'destination'] as const;
const derivable = ['name', 'namespace', 'labels', 'uid', 'serviceAccount'] as const;

export interface EnrichedBag {
  readonly bag: ReadonlyMap<string, Value>;
  /** Attribute the request did not carry → the IP attribute it is (or would be) derived from. */
  readonly derivedFrom: ReadonlyMap<string, string>;
}

const nothingDerived: ReadonlyMap<string, string> = new Map();

export function withWorkloadAttributes(
  bag: ReadonlyMap<string, Value>,
  lookup: WorkloadLookup,
): EnrichedBag {
  let out: Map<string, Value> | undefined;
  let derivedFrom: Map<string, string> | undefined;
  for (const side of sides) {
    const ipName = `${side}.ip`;
    const missing = derivable.filter((a) => !bag.has(`${side}.${a}`));
    if (missing.length === 0) continue;
    derivedFrom ??= new Map();
    for (const a of missing) derivedFrom.set(`${side}.${a}`, ipName);
    const ip = bag.get(ipName);
    const w = ip instanceof IpAddress ? lookup.byIp(ip.toString()) : undefined;
    if (w === undefined) continue;
    out ??= new Map(bag);
    const values: Record<(typeof derivable)[number], Value> = {
      name: w.name,
      namespace: w.namespace,
      labels: w.labels,
      uid: `kubernetes://${w.name}.${w.namespace}`,
      serviceAccount: w.serviceAccount,
    };
    for (const a of missing) out.set(`${side}.${a}`, values[a]);
  }
  return { bag: out ?? bag, derivedFrom: derivedFrom ?? nothingDerived };
}

/** The references of an answer over an enriched bag, restated in the caller's attributes. */
export function callerReferences(
  refs: readonly AttributeRef[],
  enriched: EnrichedBag,
  original: ReadonlyMap<string, Value>,
): AttributeRef[] {
  if (enriched.derivedFrom.size === 0) return [...refs];
  const out = new Map<string, AttributeRef>();
  for (const r of refs) {
    const from = enriched.derivedFrom.get(r.name);
    const ref: AttributeRef =
      from === undefined ? r : { name: from, condition: original.has(from) ? 'EXACT' : 'ABSENCE' };
    out.set(refKey(ref), ref);
  }
  return [...out.values()];
}

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
import { MapView } from '../lib/mixer/map-view.ts';

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
type Side = (typeof sides)[number];
const derivable = ['name', 'namespace', 'labels', 'uid', 'serviceAccount'] as const;
const derivedNames: Readonly<Record<Side, readonly string[]>> = {
  source: derivable.map((a) => `source.${a}`),
  destination: derivable.map((a) => `destination.${a}`),
};

export interface EnrichedBag {
  readonly bag: ReadonlyMap<string, Value>;
  /** Attribute the request did not carry → the IP attribute it is (or would be) derived from. */
  readonly derivedFrom: ReadonlyMap<string, string>;
}

const nothingDerived: ReadonlyMap<string, string> = new Map();

/** A workload's attributes for one side, made once per workload object (the index keeps it). */
const attributeCache: Record<Side, WeakMap<Workload, ReadonlyMap<string, Value>>> = {
  source: new WeakMap(),
  destination: new WeakMap(),
};

function attributesOf(side: Side, w: Workload): ReadonlyMap<string, Value> {
  let m = attributeCache[side].get(w);
  if (m === undefined) {
    m = new Map<string, Value>([
      [`${side}.name`, w.name],
      [`${side}.namespace`, w.namespace],
      [`${side}.labels`, w.labels],
      [`${side}.uid`, `kubernetes://${w.name}.${w.namespace}`],
      [`${side}.serviceAccount`, w.serviceAccount],
    ]);
    attributeCache[side].set(w, m);
  }
  return m;
}

function workloadAt(bag: ReadonlyMap<string, Value>, side: Side, lookup: WorkloadLookup) {
  const ip = bag.get(`${side}.ip`);
  return ip instanceof IpAddress ? lookup.byIp(ip.toString()) : undefined;
}

/**
 * The request's attributes first, then its workloads' (what it carried wins). Read-only and not a
 * copy: a report's sets are many and only read by name.
 */
class LayeredBag extends MapView {
  private readonly base: ReadonlyMap<string, Value>;
  private readonly layers: readonly ReadonlyMap<string, Value>[];

  constructor(base: ReadonlyMap<string, Value>, layers: readonly ReadonlyMap<string, Value>[]) {
    super();
    this.base = base;
    this.layers = layers;
  }

  get(key: string): Value | undefined {
    const v = this.base.get(key);
    if (v !== undefined) return v;
    for (const l of this.layers) {
      const x = l.get(key);
      if (x !== undefined) return x;
    }
    return undefined;
  }

  toMap(): Map<string, Value> {
    const m = new Map<string, Value>();
    for (const l of [...this.layers].reverse()) for (const [k, v] of l) m.set(k, v);
    for (const [k, v] of this.base) m.set(k, v);
    return m;
  }
}

/** The bag with its workloads' attributes (for reports: nothing to restate afterwards). */
export function workloadView(
  bag: ReadonlyMap<string, Value>,
  lookup: WorkloadLookup,
): ReadonlyMap<string, Value> {
  let layers: ReadonlyMap<string, Value>[] | undefined;
  for (const side of sides) {
    const w = workloadAt(bag, side, lookup);
    if (w !== undefined) (layers ??= []).push(attributesOf(side, w));
  }
  return layers === undefined ? bag : new LayeredBag(bag, layers);
}

/** The bag with its workloads' attributes, and where each missing attribute would come from. */
export function withWorkloadAttributes(
  bag: ReadonlyMap<string, Value>,
  lookup: WorkloadLookup,
): EnrichedBag {
  let derivedFrom: Map<string, string> | undefined;
  for (const side of sides) {
    for (const name of derivedNames[side]) {
      if (!bag.has(name)) (derivedFrom ??= new Map()).set(name, `${side}.ip`);
    }
  }
  if (derivedFrom === undefined) return { bag, derivedFrom: nothingDerived };
  return { bag: workloadView(bag, lookup), derivedFrom };
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

/**
 * Pilot's checks for `istio-lite analyze`: the RouteRules, DestinationPolicies, EgressRules and
 * Ingresses given (from the cluster or from files not applied yet) are parsed and resolved exactly
 * as Pilot does (config/parse.ts, traffic/resolve.ts) against the Services given and the pods and
 * pod templates given as endpoints, and every object Pilot would leave out becomes a finding with
 * the reason its `Applied` condition would carry.
 */
import type { V1Ingress, V1Service } from '@kubernetes/client-node';
import { finding, type Finding } from '../lib/analysis.ts';
import type { JsonObject } from '../lib/json.ts';
import { ConfigKind, type ConfigMeta, type Labels } from './config/model.ts';
import { CrdKinds, parseCrdObject, parseIngressObject, type CrdKind } from './config/parse.ts';
import { isIngressOfClass } from './config/ingress.ts';
import { ConfigStore } from './config/store.ts';
import { convertService } from './kube/convert.ts';
import { MemoryRegistry } from './model/memory-registry.ts';
import { emptyLocality, type Endpoint } from './model/service.ts';
import { EgressServiceName } from './snapshot/mesh-build.ts';
import { resolveTraffic } from './traffic/resolve.ts';

/** A pod, or a workload's pod template, as the endpoints of the Services selecting it. */
export interface WorkloadLabels {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
}

export interface TrafficInput {
  /** Objects of any kind as the API server returns them; Pilot's kinds are picked out. */
  readonly objects: readonly JsonObject[];
  /** Pods and pod templates (their labels make the endpoints). */
  readonly workloads: readonly WorkloadLabels[];
  readonly domain: string;
  readonly ingressClass: string;
}

function isCrdKind(kind: unknown): kind is CrdKind {
  return typeof kind === 'string' && Object.hasOwn(CrdKinds, kind);
}

function selects(selector: Labels | undefined, labels: Labels): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** `RouteRule ns/name: spec.route[0].weight: must be…` → the field and the message. */
function splitMessage(meta: ConfigMeta, message: string): { field?: string; message: string } {
  const prefix = `${meta.kind} ${meta.namespace}/${meta.name}: `;
  const rest = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  const m = /^([A-Za-z][\w\-.[\]"]*): ([\s\S]*)$/.exec(rest);
  const path = m?.[1];
  if (path === undefined || m?.[2] === undefined || !/^(spec|metadata)\b|^route\[/.test(path)) {
    return { message: rest };
  }
  return { field: path.startsWith('route[') ? `spec.${path}` : path, message: m[2] };
}

/** The field a resolution reason is about, when the message does not say. */
const reasonField: Readonly<Record<string, string>> = {
  UnknownDestination: 'spec.destination',
  NotHttp: 'spec.destination',
  WeightsNot100: 'spec.route',
  NotRouted: 'spec.destination.labels',
  ConflictsWithService: 'spec.destination',
  Conflict: 'spec.ports',
  NoEgressGateway: 'spec.useEgressProxy',
  UnknownBackend: 'spec.rules',
};

export function analyzeTraffic(input: TrafficInput): Finding[] {
  const registry = new MemoryRegistry();
  const store = new ConfigStore();
  const services: V1Service[] = [];
  for (const o of input.objects) {
    const kind = o['kind'];
    if (isCrdKind(kind)) {
      const parsed = parseCrdObject(kind, o, input.domain);
      if (parsed) store.set(parsed.key, parsed.entry);
    } else if (kind === 'Ingress') {
      const ing = o as V1Ingress;
      if (!isIngressOfClass(ing, input.ingressClass)) continue;
      const parsed = parseIngressObject(ing, input.domain);
      if (parsed) store.set(parsed.key, parsed.entry);
    } else if (kind === 'Service') {
      services.push(o);
    }
  }
  registry.batch((b) => {
    for (const raw of services) {
      const svc = convertService(raw, input.domain);
      if ('skip' in svc) continue;
      b.setService(svc);
      const selector = raw.spec?.selector;
      const eps: Endpoint[] = [];
      for (const w of input.workloads) {
        if (w.namespace !== svc.namespace || !selects(selector, w.labels)) continue;
        for (const p of svc.ports) {
          eps.push({
            address: '0.0.0.0',
            port: p.port,
            servicePortName: p.name,
            ready: true,
            locality: emptyLocality,
            weight: 1,
            labels: w.labels,
            serviceAccount: undefined,
            tlsMode: 'disabled',
            pod: `${w.name}.${w.namespace}`,
          });
        }
      }
      b.setEndpoints(svc.hostname, eps);
    }
  });
  const traffic = resolveTraffic({
    state: registry.current(),
    config: store.current(),
    egressService: EgressServiceName,
    previous: undefined,
  });
  return traffic.problems.map((p) => {
    const { field, message } = splitMessage(p.meta, p.message);
    const object = { kind: p.meta.kind, namespace: p.meta.namespace, name: p.meta.name };
    return finding(p.reason, object, message, field ?? reasonField[p.reason]);
  });
}

/** Whether an object is one Pilot reads (its CRDs and Ingresses). */
export function isTrafficObject(o: JsonObject): boolean {
  const kind = o['kind'];
  return isCrdKind(kind) || kind === ConfigKind.Ingress;
}

/** Pilot's CRD kinds with their plural resource names (for reading them from a cluster). */
export const trafficCrds: readonly { readonly kind: string; readonly plural: string }[] =
  Object.entries(CrdKinds).map(([kind, plural]) => ({ kind, plural }));

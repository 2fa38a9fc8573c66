/**
 * What Pilot keeps of each Kubernetes object its informers cache (lib/kube/informer.ts's
 * `transform`): the fields convert.ts, workload-entries.ts and the registry read, plus name,
 * namespace and resourceVersion. A pod keeps its labels and service account, not its containers
 * and status; a Service its ports, type, cluster IP and selector; an EndpointSlice its service
 * label, ports and each endpoint's addresses, conditions, zone and pod. Objects arrive as the
 * JSON the API server sent (lib/kube/http.ts), so nothing else was ever built.
 */
import type {
  V1Endpoint,
  DiscoveryV1EndpointPort,
  V1EndpointSlice,
  V1ObjectMeta,
  V1Pod,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';
import { ServiceNameLabel } from './convert.ts';
import type { RawObject } from './custom-objects.ts';

type Loose<T> = { [K in keyof T]?: T[K] | undefined };

/** `o` without its undefined fields (the API types' optional fields take no `undefined`). */
function compact<T extends object>(o: Loose<T>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

function meta(md: V1ObjectMeta | undefined, labels?: Record<string, string>): V1ObjectMeta {
  return compact<V1ObjectMeta>({
    name: md?.name,
    namespace: md?.namespace,
    resourceVersion: md?.resourceVersion,
    labels,
  });
}

export function slimService(s: V1Service): V1Service {
  const spec = s.spec;
  return compact<V1Service>({
    metadata: meta(s.metadata),
    spec:
      spec &&
      compact({
        type: spec.type,
        clusterIP: spec.clusterIP,
        selector: spec.selector,
        ports: spec.ports?.map((p) =>
          compact<V1ServicePort>({
            name: p.name,
            port: p.port,
            protocol: p.protocol,
            appProtocol: p.appProtocol,
            targetPort: p.targetPort,
          }),
        ),
      }),
  });
}

export function slimEndpointSlice(s: V1EndpointSlice): V1EndpointSlice {
  const service = s.metadata?.labels?.[ServiceNameLabel];
  return compact<V1EndpointSlice>({
    metadata: meta(s.metadata, service === undefined ? undefined : { [ServiceNameLabel]: service }),
    addressType: s.addressType,
    ports: s.ports?.map((p) => compact<DiscoveryV1EndpointPort>({ name: p.name, port: p.port })),
    endpoints: s.endpoints?.map((e) =>
      compact<V1Endpoint>({
        addresses: e.addresses,
        conditions: e.conditions && {
          ...(e.conditions.ready !== undefined ? { ready: e.conditions.ready } : {}),
          ...(e.conditions.terminating !== undefined
            ? { terminating: e.conditions.terminating }
            : {}),
        },
        zone: e.zone,
        targetRef:
          e.targetRef &&
          compact({
            kind: e.targetRef.kind,
            name: e.targetRef.name,
            namespace: e.targetRef.namespace,
          }),
      }),
    ),
  });
}

export function slimPod(p: V1Pod): V1Pod {
  const sa = p.spec?.serviceAccountName;
  return compact<V1Pod>({
    metadata: meta(p.metadata, p.metadata?.labels),
    // A spec without containers is not a valid pod, but only the service account is read.
    spec: (sa === undefined ? {} : { serviceAccountName: sa }) as V1Pod['spec'],
  });
}

/** A WorkloadEntry: name, namespace, resourceVersion and spec (parsed by workload-entries.ts). */
export function slimWorkloadEntry(o: RawObject): RawObject {
  return compact<RawObject>({ metadata: meta(o.metadata), spec: o.spec });
}

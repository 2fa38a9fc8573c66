/**
 * WorkloadEntries as endpoints of the Kubernetes Services that select them. A Service with a
 * label selector selects the WorkloadEntries of its namespace whose labels match, exactly as it
 * selects pods (modern Istio does the same): each entry serves every port of the Service, on
 *
 * 1. the entry's port of the same name as the service port, else
 * 2. the service port's numeric targetPort (the service port when it has none), else
 * 3. for a named targetPort, the entry's port of that name (none: the entry does not serve it).
 *
 * The endpoint carries the entry's labels (RouteRules split by `version` as for pods), service
 * account, tlsMode (lib/workload-entry.ts), locality and weight. A Service with no selector
 * selects no entries (its endpoints are whatever slices it has).
 */
import { isIP } from 'node:net';
import type { V1Service } from '@kubernetes/client-node';
import { FieldReader } from '../../lib/config/field-reader.ts';
import {
  parseWorkloadEntrySpec,
  workloadEntryTlsMode,
  type WorkloadEntrySpec,
} from '../../lib/workload-entry.ts';
import { emptyLocality, type Endpoint, type Locality } from '../model/service.ts';
import { byAddressAndPort } from './convert.ts';
import type { RawObject } from './custom-objects.ts';

export interface SelectingService {
  readonly namespace: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly {
    readonly name: string;
    readonly port: number;
    readonly targetPort: number | string | undefined;
  }[];
}

export interface WorkloadEntryInfo {
  readonly namespace: string;
  readonly name: string;
  readonly spec: WorkloadEntrySpec;
}

/** What of a Service selecting entries needs; undefined for a Service without a selector. */
export function selectingService(svc: V1Service): SelectingService | undefined {
  const selector = svc.spec?.selector;
  if (selector === undefined || Object.keys(selector).length === 0) return undefined;
  return {
    namespace: svc.metadata?.namespace ?? '',
    selector,
    ports: (svc.spec?.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: p.port,
      targetPort: p.targetPort,
    })),
  };
}

/** A WorkloadEntry as the API server sent it, checked; throws a FieldError naming the field. */
export function parseWorkloadEntryObject(obj: RawObject): WorkloadEntryInfo {
  const namespace = obj.metadata?.namespace ?? '';
  const name = obj.metadata?.name ?? '';
  const spec = parseWorkloadEntrySpec(
    new FieldReader(obj.spec, { path: 'spec', what: `WorkloadEntry ${namespace}/${name}` }),
  );
  return { namespace, name, spec };
}

export function parseLocality(s: string): Locality {
  if (s === '') return emptyLocality;
  const [region = '', zone = '', subzone = ''] = s.split('/');
  return { region, zone, subzone };
}

function selects(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

function entryPort(
  spec: WorkloadEntrySpec,
  p: SelectingService['ports'][number],
): number | undefined {
  const named = spec.ports[p.name];
  if (p.name !== '' && named !== undefined) return named;
  if (p.targetPort === undefined) return p.port;
  if (typeof p.targetPort === 'number') return p.targetPort;
  const asNumber = Number(p.targetPort);
  if (Number.isInteger(asNumber) && asNumber > 0) return asNumber;
  return spec.ports[p.targetPort];
}

/** The endpoints a Service gets from the entries of its namespace, sorted as convert.ts sorts. */
export function workloadEntryEndpoints(
  svc: SelectingService,
  entries: Iterable<WorkloadEntryInfo>,
): Endpoint[] {
  const out: Endpoint[] = [];
  for (const e of entries) {
    if (e.namespace !== svc.namespace || !selects(svc.selector, e.spec.labels)) continue;
    if (isIP(e.spec.address) === 0) continue;
    const locality = parseLocality(e.spec.locality);
    const tlsMode = workloadEntryTlsMode(e.spec);
    for (const p of svc.ports) {
      const port = entryPort(e.spec, p);
      if (port === undefined) continue;
      out.push({
        address: e.spec.address,
        port,
        servicePortName: p.name,
        ready: true,
        locality,
        weight: e.spec.weight > 0 ? e.spec.weight : 1,
        labels: e.spec.labels,
        serviceAccount: e.spec.serviceAccount === '' ? undefined : e.spec.serviceAccount,
        tlsMode,
        pod: undefined,
      });
    }
  }
  return out.sort(byAddressAndPort);
}

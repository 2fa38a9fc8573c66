/**
 * WorkloadEntry (`networking.istio.io/v1`): a workload outside Kubernetes (a VM, a physical
 * machine) described the way a pod is, so a Kubernetes Service selects it by its labels exactly as
 * it selects pods. The spec fields are modern Istio's (istio/api `networking/v1alpha3/
 * workload_entry.proto`): address, ports (port name → number on the workload), labels, network,
 * locality (`region/zone/subzone`), weight, serviceAccount. istio-lite takes IP addresses only
 * (the CRD's schema refuses anything else); `network` is read and kept but there is one network.
 *
 * A WorkloadGroup's `template` is the same spec without an address (docs/vm.md).
 */
import { isIP } from 'node:net';
import type { FieldReader } from './config/field-reader.ts';

export const WorkloadEntryGroup = 'networking.istio.io';
export const WorkloadEntryVersion = 'v1';
export const WorkloadEntryPlural = 'workloadentries';
export const WorkloadGroupPlural = 'workloadgroups';

/** The label a WorkloadEntry sets to say its workload runs a sidecar (as a pod's does). */
export const TlsModeLabel = 'security.istio.io/tlsMode';

export interface WorkloadEntrySpec {
  /** "" only in a WorkloadGroup template. */
  readonly address: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly network: string;
  readonly locality: string;
  /** 0 when unset (Pilot then weighs it 1). */
  readonly weight: number;
  readonly serviceAccount: string;
}

const portName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Reads a WorkloadEntry spec (or, with `template`, a WorkloadGroup template, which has no
 * address). Every error names its field.
 */
export function parseWorkloadEntrySpec(
  r: FieldReader,
  kind: 'entry' | 'template' = 'entry',
): WorkloadEntrySpec {
  const address = kind === 'entry' ? r.requiredString('address') : '';
  if (kind === 'template' && r.has('address')) {
    r.fail('address', 'is set per workload, never in a template');
  }
  if (kind === 'entry' && isIP(address) === 0)
    r.fail('address', `"${address}" is not an IP address`);
  const ports: Record<string, number> = {};
  const portsReader = r.object('ports');
  for (const name of portsReader.keys()) {
    if (!portName.test(name) || name.length > 63) {
      portsReader.fail(name, 'is not a port name (lower case letters, digits and "-")');
    }
    ports[name] = portsReader.integer(name, 0, 1, 65535);
  }
  portsReader.done();
  const labels = Object.fromEntries(r.stringMap('labels'));
  const network = r.string('network', '');
  const locality = r.string('locality', '');
  if (locality.split('/').length > 3)
    r.fail('locality', `"${locality}" is not region/zone/subzone`);
  const weight = r.integer('weight', 0, 0, 4294967295);
  const serviceAccount = r.string('serviceAccount', '');
  if (serviceAccount !== '' && (!dns1123.test(serviceAccount) || serviceAccount.length > 253)) {
    r.fail('serviceAccount', `"${serviceAccount}" is not a ServiceAccount name`);
  }
  r.done();
  return { address, ports, labels, network, locality, weight, serviceAccount };
}

/**
 * Whether the workload takes Istio mTLS: its `security.istio.io/tlsMode` label when it has one,
 * else yes when it names a service account (the one a certificate is issued for), as in Istio.
 */
export function workloadEntryTlsMode(spec: WorkloadEntrySpec): 'istio' | 'disabled' {
  const label = spec.labels[TlsModeLabel];
  if (label !== undefined) return label === 'istio' ? 'istio' : 'disabled';
  return spec.serviceAccount !== '' ? 'istio' : 'disabled';
}

/** The WorkloadEntry name `register` and auto-registration give a workload: `<prefix>-<ip>`. */
export function workloadEntryName(prefix: string, ip: string): string {
  return `${prefix}-${ip.replace(/[.:]/g, '-')}`.replace(/-+$/, '').toLowerCase();
}

/** The spec as the API server takes it: fields left at their zero value are left out. */
export function workloadEntrySpecJson(spec: WorkloadEntrySpec): Record<string, unknown> {
  return {
    ...(spec.address === '' ? {} : { address: spec.address }),
    ...(Object.keys(spec.ports).length === 0 ? {} : { ports: { ...spec.ports } }),
    ...(Object.keys(spec.labels).length === 0 ? {} : { labels: { ...spec.labels } }),
    ...(spec.network === '' ? {} : { network: spec.network }),
    ...(spec.locality === '' ? {} : { locality: spec.locality }),
    ...(spec.weight === 0 ? {} : { weight: spec.weight }),
    ...(spec.serviceAccount === '' ? {} : { serviceAccount: spec.serviceAccount }),
  };
}

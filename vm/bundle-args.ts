/**
 * The flags of `istio-lite vm bundle` and the request they make, checked before the cluster is
 * read or anything is written: every bad value is a usage error naming its flag.
 */
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { option, usageError, type OptionValues } from '../lib/config/options.ts';
import { cidrListError, portListError, splitList } from '../lib/net.ts';

export const vmBundleOptions = {
  'service-account': option.string("the VM's ServiceAccount, its identity (required)", {
    short: 's',
    placeholder: 'SA',
  }),
  namespace: option.string("the VM's namespace (required)", { short: 'n', placeholder: 'NS' }),
  output: option.string('the bundle folder, created if missing (required)', {
    short: 'o',
    placeholder: 'DIR',
  }),
  kubeconfig: option.string('kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)', {
    placeholder: 'FILE',
  }),
  'control-plane-namespace': option.text('istio-system', 'where istio-lite runs', {
    placeholder: 'NS',
  }),
  'service-cidr': option.string(
    "the cluster's service CIDRs, captured on the VM (default: the ServiceCIDR objects)",
    { placeholder: 'CIDRS' },
  ),
  'inbound-ports': option.text('*', 'inbound ports the sidecar captures (ports, or *)', {
    placeholder: 'PORTS',
  }),
  'local-exclude-ports': option.text(
    '22,15020,15021,15090',
    'inbound ports never captured (SSH, the agent)',
    { placeholder: 'PORTS' },
  ),
  'pilot-address': option.string('Pilot as the VM reaches it (default: Service istio-pilot-ilb)', {
    placeholder: 'IP:PORT',
  }),
  'mixer-address': option.string('Mixer as the VM reaches it (default: Service mixer-ilb)', {
    placeholder: 'IP:PORT',
  }),
  'ca-address': option.string('the CA as the VM reaches it (default: Service istio-ca-ilb)', {
    placeholder: 'IP:PORT',
  }),
  group: option.string('a WorkloadGroup in NS: the VM registers itself from it', {
    placeholder: 'NAME',
  }),
  ip: option.string("the VM's IP, INSTANCE_IP (default: the agent finds it)", {
    placeholder: 'IP',
  }),
  node: option.string('a name for the VM in the CA (default: <sa>-<6 random hex>)', {
    placeholder: 'NAME',
  }),
  'token-ttl': option.optionalDuration('the bootstrap token expires after this (default: never)', {
    minMs: 60_000,
  }),
  force: option.flag('replace a bundle already in DIR'),
};

/** An address given by flag: an IP (mapped to the control plane's name in `hosts`) or a name. */
export interface AddressFlag {
  readonly host: string;
  readonly port: number;
  readonly isIp: boolean;
}

export interface BundleRequest {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly outputDir: string;
  readonly kubeconfig?: string;
  readonly controlPlaneNamespace: string;
  readonly serviceCidr?: string;
  readonly inboundPorts: string;
  readonly localExcludePorts: string;
  readonly pilotAddress?: AddressFlag;
  readonly mixerAddress?: AddressFlag;
  readonly caAddress?: AddressFlag;
  readonly group?: string;
  readonly ip?: string;
  readonly node: string;
  readonly tokenTtlMs?: number;
  readonly force: boolean;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const hostName =
  /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;

function required(flag: string, v: string | undefined): string {
  if (v === undefined || v === '') throw usageError(`--${flag} is required`);
  return v;
}

function check(flag: string, ok: boolean, v: string, what: string): void {
  if (!ok) throw usageError(`--${flag}: "${v}" is not ${what}`);
}

/** `IP:PORT`, `[IPv6]:PORT` or `HOST:PORT`. */
export function parseAddressFlag(flag: string, v: string): AddressFlag {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  const v6 = m?.[1] !== undefined;
  const isIp = host !== undefined && isIP(host) !== 0;
  const hostOk =
    host !== undefined && (v6 ? isIP(host) === 6 : isIP(host) === 4 || hostName.test(host));
  if (!hostOk || !(port >= 1 && port <= 65535)) {
    throw usageError(`--${flag}: "${v}" is not IP:PORT (or HOST:PORT, [IPv6]:PORT)`);
  }
  return { host, port, isIp };
}

export function parseBundleRequest(v: OptionValues<typeof vmBundleOptions>): BundleRequest {
  const serviceAccount = required('service-account', v['service-account']);
  const namespace = required('namespace', v.namespace);
  const outputDir = required('output', v.output);
  check(
    'namespace',
    dnsLabel.test(namespace) && namespace.length <= 63,
    namespace,
    'a namespace name',
  );
  check(
    'service-account',
    dnsSubdomain.test(serviceAccount) && serviceAccount.length <= 253,
    serviceAccount,
    'a ServiceAccount name',
  );
  const cpns = v['control-plane-namespace'];
  check(
    'control-plane-namespace',
    dnsLabel.test(cpns) && cpns.length <= 63,
    cpns,
    'a namespace name',
  );
  const cidr = v['service-cidr'];
  const cidrProblem = cidr === undefined ? undefined : cidrListError(cidr, false);
  if (cidr === '') throw usageError('--service-cidr: must not be empty');
  if (cidrProblem !== undefined) throw usageError(`--service-cidr: ${cidrProblem}`);
  for (const flag of ['inbound-ports', 'local-exclude-ports'] as const) {
    const problem = portListError(v[flag], flag === 'inbound-ports');
    if (problem !== undefined) throw usageError(`--${flag}: ${problem}`);
  }
  const ip = v.ip;
  if (ip !== undefined) check('ip', isIP(ip) !== 0, ip, 'an IP address');
  const group = v.group;
  if (group !== undefined) {
    check('group', dnsSubdomain.test(group) && group.length <= 253, group, 'a WorkloadGroup name');
  }
  const node = v.node ?? `${serviceAccount.slice(0, 50)}-${randomBytes(3).toString('hex')}`;
  // The Secret is istio-vm-token-<node>, and the node is a label value (63 characters at most).
  check(
    'node',
    dnsLabel.test(node) && node.length <= 63,
    node,
    'a name (lower case letters, digits, "-"; 63 at most)',
  );
  const address = (flag: 'pilot-address' | 'mixer-address' | 'ca-address') => {
    const a = v[flag];
    return a === undefined ? undefined : parseAddressFlag(flag, a);
  };
  const pilotAddress = address('pilot-address');
  const mixerAddress = address('mixer-address');
  const caAddress = address('ca-address');
  const kubeconfig = v.kubeconfig;
  const tokenTtlMs = v['token-ttl'];
  return {
    namespace,
    serviceAccount,
    outputDir,
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    controlPlaneNamespace: cpns,
    ...(cidr === undefined ? {} : { serviceCidr: splitList(cidr).join(',') }),
    inboundPorts: splitList(v['inbound-ports']).join(','),
    localExcludePorts: splitList(v['local-exclude-ports']).join(','),
    ...(pilotAddress === undefined ? {} : { pilotAddress }),
    ...(mixerAddress === undefined ? {} : { mixerAddress }),
    ...(caAddress === undefined ? {} : { caAddress }),
    ...(group === undefined ? {} : { group }),
    ...(ip === undefined ? {} : { ip }),
    node,
    ...(tokenTtlMs === undefined ? {} : { tokenTtlMs }),
    force: v.force,
  };
}

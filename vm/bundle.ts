/**
 * `istio-lite vm bundle`: everything a VM needs to join the mesh, in one folder (docs/vm.md):
 * cluster.env, mesh.yaml, root-cert.pem, istio-token (a new bootstrap token, 0600), hosts and the
 * systemd units. Like `istioctl x workload entry configure`.
 *
 * Order: every check and every read first (flags, DIR, namespace, ServiceAccount, group, mesh
 * config, root, service CIDRs, addresses), so bad input changes nothing; then the files are
 * staged in DIR, the token's Secret is created in the control-plane namespace, and the files are
 * renamed into place. When that last step fails the Secret is deleted again.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import {
  BootstrapTokenSecret,
  bootstrapTokenHash,
  bootstrapTokenSecret,
  newBootstrapToken,
  rfc3339,
} from '../lib/ca/bootstrap-token-secret.ts';
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { describeApiError, isAlreadyExists } from '../lib/kube/client.ts';
import { spiffeId } from '../lib/pki/spiffe.ts';
import { ControlPlane, dnsName, renderHosts, resolveReach, type Reach } from './addresses.ts';
import type { BundleRequest } from './bundle-args.ts';
import {
  fsBundleWriter,
  presentFiles,
  type BundleFile,
  type BundleWriter,
} from './bundle-files.ts';
import { ClusterReader } from './cluster-read.ts';
import { renderClusterEnv, type ClusterEnv } from './cluster-env.ts';
import { units } from './units.ts';

export const BundleFileName = {
  ClusterEnv: 'cluster.env',
  Mesh: 'mesh.yaml',
  Root: 'root-cert.pem',
  Token: 'istio-token',
  Hosts: 'hosts',
} as const;

/** Every file a bundle holds. */
export const bundleFileNames: readonly string[] = [
  ...Object.values(BundleFileName),
  ...units.map((u) => u.name),
];

export interface BundleResult {
  readonly dir: string;
  readonly files: readonly string[];
  /** `istio-system/istio-vm-token-db-1a2b3c`. */
  readonly secret: string;
  readonly node: string;
  readonly identity: string;
  readonly expiresAt?: Date;
  readonly env: ClusterEnv;
  /** Things the user should know (no Mixer, where addresses came from, an earlier token). */
  readonly notes: readonly string[];
}

export interface BundleOptions {
  /** Where the files go (tests replace it to make the last step fail). */
  readonly writer?: BundleWriter;
  readonly now?: () => Date;
}

function invalid(message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidConfig, message);
}

/** The Secret of the token in an earlier bundle in `dir`, when there is one. */
async function earlierTokenSecret(
  core: CoreV1Api,
  namespace: string,
  dir: string,
): Promise<string | undefined> {
  const token = await readFile(join(dir, BundleFileName.Token), 'utf8').catch(() => undefined);
  if (token === undefined) return undefined;
  const hash = bootstrapTokenHash(token.trim());
  const list = await core
    .listNamespacedSecret({ namespace, fieldSelector: `type=${BootstrapTokenSecret.Type}` })
    .catch(() => undefined);
  const match = list?.items.find((s) => {
    const v = s.data?.[BootstrapTokenSecret.TokenSha256];
    return v !== undefined && Buffer.from(v, 'base64').toString('utf8').trim() === hash;
  });
  return match?.metadata?.name;
}

export async function createVmBundle(
  kc: KubeConfig,
  r: BundleRequest,
  options: BundleOptions = {},
): Promise<BundleResult> {
  const now = (options.now ?? (() => new Date()))();
  const dir = resolve(r.outputDir);
  const cpns = r.controlPlaneNamespace;
  const present = await presentFiles(dir, bundleFileNames);
  if (present.length > 0 && !r.force) {
    throw invalid(
      `--output: ${dir} already holds a bundle (${present.join(', ')}): pass --force to replace it, or choose another folder`,
    );
  }

  const cluster = new ClusterReader(kc);
  const core = kc.makeApiClient(CoreV1Api);
  await cluster.mustHaveNamespace(r.namespace, '--namespace');
  await cluster.mustHaveServiceAccount(r.namespace, r.serviceAccount);
  await cluster.mustHaveNamespace(cpns, '--control-plane-namespace');
  if (r.group !== undefined) await cluster.mustHaveWorkloadGroup(r.namespace, r.group);
  const mesh = await cluster.meshConfig(cpns);
  const root = await cluster.rootCert(cpns);
  let serviceCidr = r.serviceCidr;
  if (serviceCidr === undefined) {
    const found = await cluster.serviceCidrs();
    if (found.length === 0) {
      throw invalid(
        "the cluster's service CIDR could not be found (no networking.k8s.io/v1 ServiceCIDR objects: Kubernetes before 1.33?): pass --service-cidr CIDR",
      );
    }
    serviceCidr = found.join(',');
  }

  let nodes: readonly V1Node[] | undefined;
  const nodeList = async () => (nodes ??= await cluster.nodes());
  const notes: string[] = [];
  const reaches: Reach[] = [];
  const reach = async (name: keyof typeof ControlPlane, flag: BundleRequest['pilotAddress']) => {
    const c = ControlPlane[name];
    const service = flag === undefined ? await cluster.service(cpns, c.ilb) : undefined;
    // Nodes are listed only for a NodePort Service.
    if (service?.spec?.type === 'NodePort') await nodeList();
    const got = resolveReach(c, {
      flag,
      service,
      nodes: () => nodes ?? [],
      controlPlaneNamespace: cpns,
      optional: name === 'mixer',
    });
    if (got !== undefined) reaches.push(got);
    return got;
  };
  const pilot = await reach('pilot', r.pilotAddress);
  const mixer = await reach('mixer', r.mixerAddress);
  const ca = await reach('ca', r.caAddress);
  if (pilot === undefined || ca === undefined) {
    throw new IstioLiteError(ErrorCode.Internal, 'Pilot and the CA always have an address');
  }
  if (mixer === undefined) {
    notes.push(
      `no Mixer: Service ${cpns}/${ControlPlane.mixer.ilb} not found and no --mixer-address, so MIXER_ADDRESS is empty (policy checks allow, telemetry is not sent)`,
    );
  }

  const env: ClusterEnv = {
    ISTIO_SERVICE_CIDR: serviceCidr,
    ISTIO_INBOUND_PORTS: r.inboundPorts,
    ISTIO_LOCAL_EXCLUDE_PORTS: r.localExcludePorts,
    PILOT_ADDRESS: pilot.address,
    MIXER_ADDRESS: mixer?.address ?? '',
    CA_ADDRESS: ca.address,
    CA_SERVER_NAME: dnsName(ControlPlane.ca, cpns),
    POD_NAMESPACE: r.namespace,
    SERVICE_ACCOUNT: r.serviceAccount,
    TRUST_DOMAIN: mesh.mesh.trustDomain,
    ...(r.group === undefined ? {} : { ISTIO_META_AUTO_REGISTER_GROUP: r.group }),
    ...(r.ip === undefined ? {} : { INSTANCE_IP: r.ip }),
  };
  const identity = spiffeId({
    trustDomain: mesh.mesh.trustDomain,
    namespace: r.namespace,
    serviceAccount: r.serviceAccount,
  });
  const secretName = `istio-vm-token-${r.node}`;
  const expiresAt = r.tokenTtlMs === undefined ? undefined : new Date(now.getTime() + r.tokenTtlMs);
  const earlier = r.force ? await earlierTokenSecret(core, cpns, dir) : undefined;
  if (earlier !== undefined && earlier !== secretName) {
    notes.push(
      `the replaced bundle's token is still valid (Secret ${cpns}/${earlier}); once no VM uses it: kubectl -n ${cpns} delete secret ${earlier}`,
    );
  }

  const token = newBootstrapToken();
  const files: BundleFile[] = [
    {
      name: BundleFileName.ClusterEnv,
      content: renderClusterEnv(env, [
        `istio-lite VM bundle for ${identity} (node ${r.node}), ${rfc3339(now)}.`,
        'Read by the istio-lite systemd units (EnvironmentFile) and by sh.',
      ]),
      mode: 0o644,
    },
    {
      name: BundleFileName.Mesh,
      content: mesh.text.endsWith('\n') ? mesh.text : `${mesh.text}\n`,
      mode: 0o644,
    },
    { name: BundleFileName.Root, content: root.pem, mode: 0o644 },
    { name: BundleFileName.Token, content: `${token}\n`, mode: 0o600 },
    { name: BundleFileName.Hosts, content: renderHosts(reaches), mode: 0o644 },
    ...units.map((u) => ({ name: u.name, content: u.text, mode: 0o644 })),
  ];

  const staged = await (options.writer ?? fsBundleWriter).stage(dir, files);
  const body = bootstrapTokenSecret({
    name: secretName,
    secretNamespace: cpns,
    node: r.node,
    namespace: r.namespace,
    serviceAccount: r.serviceAccount,
    tokenSha256: bootstrapTokenHash(token),
    ...(expiresAt === undefined ? {} : { expiration: expiresAt }),
    description: `istio-lite vm bundle for ${identity}`,
  });
  try {
    await core.createNamespacedSecret({ namespace: cpns, body });
  } catch (e) {
    await staged.discard();
    if (isAlreadyExists(e)) {
      throw invalid(
        `--node: Secret ${cpns}/${secretName} already exists (another VM named ${r.node}?): choose another --node, or delete it with: kubectl -n ${cpns} delete secret ${secretName}`,
      );
    }
    throw new IstioLiteError(
      ErrorCode.External,
      `creating Secret ${cpns}/${secretName}: ${describeApiError(e)}`,
      { cause: e },
    );
  }
  try {
    await staged.commit();
  } catch (e) {
    await core.deleteNamespacedSecret({ namespace: cpns, name: secretName }).catch(() => undefined);
    throw e;
  }
  const addressNotes = reaches.map(
    (x) =>
      `${x.address}${x.hostsIp === undefined ? '' : ` (${x.hostsIp} in hosts)`}: from ${x.from}`,
  );
  return {
    dir,
    files: files.map((f) => f.name),
    secret: `${cpns}/${secretName}`,
    node: r.node,
    identity,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    env,
    notes: [...addressNotes, ...notes],
  };
}

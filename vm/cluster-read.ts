/**
 * What `vm bundle` reads from the cluster, each read failing with a message that says what is
 * missing and how to fix it: the VM's namespace and ServiceAccount, its WorkloadGroup, the mesh
 * config, the CA's root (the Secret the CA signs with: `cacerts`, else `istio-ca-secret`, as
 * ca/root-store.ts picks it), the service CIDRs (networking.k8s.io/v1 ServiceCIDR) and the
 * mesh-expansion Services.
 */
import { X509Certificate } from 'node:crypto';
import {
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  type KubeConfig,
  type V1Node,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { apiErrorCode, describeApiError, isNotFound } from '../lib/kube/client.ts';
import { parseMeshConfig, type MeshConfig } from '../lib/mesh-config.ts';
import { splitCertificates } from '../lib/pki/pem.ts';
import {
  WorkloadEntryGroup,
  WorkloadEntryVersion,
  WorkloadGroupPlural,
} from '../lib/workload-entry.ts';
import { parseYamlDocument } from '../lib/yaml.ts';

function invalid(message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidConfig, message);
}

/** The object, undefined on 404; any other failure names what was read (and the cluster). */
async function read<T>(
  kc: KubeConfig,
  what: string,
  call: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await call();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    const server = kc.getCurrentCluster()?.server ?? '(no server)';
    if (apiErrorCode(e) === undefined) {
      const cause = e instanceof Error && e.cause !== undefined ? `: ${errorMessage(e.cause)}` : '';
      throw new IstioLiteError(
        ErrorCode.External,
        `cannot reach the cluster at ${server} (reading ${what}): ${errorMessage(e)}${cause}`,
        { cause: e },
      );
    }
    throw new IstioLiteError(ErrorCode.External, `reading ${what}: ${describeApiError(e)}`, {
      cause: e,
    });
  }
}

export class ClusterReader {
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async mustHaveNamespace(name: string, flag: string): Promise<void> {
    const ns = await read(this.kc, `namespace ${name}`, () => this.core.readNamespace({ name }));
    if (ns === undefined) throw invalid(`${flag}: namespace "${name}" not found`);
  }

  async mustHaveServiceAccount(namespace: string, name: string): Promise<void> {
    const sa = await read(this.kc, `ServiceAccount ${namespace}/${name}`, () =>
      this.core.readNamespacedServiceAccount({ namespace, name }),
    );
    if (sa === undefined) {
      throw invalid(
        `--service-account: ServiceAccount "${name}" not found in namespace ${namespace}; create it with: kubectl create serviceaccount ${name} -n ${namespace}`,
      );
    }
  }

  async mustHaveWorkloadGroup(namespace: string, name: string): Promise<void> {
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const group: unknown = await read(
      this.kc,
      `WorkloadGroup ${namespace}/${name}`,
      () =>
        custom.getNamespacedCustomObject({
          group: WorkloadEntryGroup,
          version: WorkloadEntryVersion,
          plural: WorkloadGroupPlural,
          namespace,
          name,
        }) as Promise<unknown>,
    );
    if (group === undefined) {
      throw invalid(
        `--group: WorkloadGroup "${name}" not found in namespace ${namespace} (create it first; the chart installs its CRD)`,
      );
    }
  }

  /** The mesh config's text (ConfigMap `istio`, key `mesh`) and its parsed form. */
  async meshConfig(namespace: string): Promise<{ text: string; mesh: MeshConfig }> {
    const where = `ConfigMap ${namespace}/istio`;
    const cm = await read(this.kc, where, () =>
      this.core.readNamespacedConfigMap({ namespace, name: 'istio' }),
    );
    if (cm === undefined) {
      throw invalid(
        `${where} not found: is istio-lite installed in ${namespace}? (--control-plane-namespace)`,
      );
    }
    const text = cm.data?.['mesh'];
    if (text === undefined) throw invalid(`${where} has no key "mesh"`);
    try {
      return { text, mesh: parseMeshConfig(parseYamlDocument(text, `${where} (mesh)`)) };
    } catch (e) {
      throw invalid(`${where}: ${errorMessage(e)}`);
    }
  }

  /** The root the CA signs under, PEM, and the Secret it came from. */
  async rootCert(namespace: string): Promise<{ pem: string; source: string }> {
    for (const name of ['cacerts', 'istio-ca-secret']) {
      const source = `Secret ${namespace}/${name}`;
      const secret = await read(this.kc, source, () =>
        this.core.readNamespacedSecret({ namespace, name }),
      );
      if (secret !== undefined) return { pem: rootOf(secret, source), source };
    }
    throw invalid(
      `no CA root in namespace ${namespace}: neither Secret cacerts nor istio-ca-secret exists (has the CA started there? --control-plane-namespace)`,
    );
  }

  /** The cluster's service CIDRs: the `kubernetes` ServiceCIDR's first, then the others'. */
  async serviceCidrs(): Promise<string[]> {
    const api = this.kc.makeApiClient(NetworkingV1Api);
    const list = await read(this.kc, 'ServiceCIDRs', () => api.listServiceCIDR());
    const items = [...(list?.items ?? [])].sort((a, b) =>
      a.metadata?.name === 'kubernetes' ? -1 : b.metadata?.name === 'kubernetes' ? 1 : 0,
    );
    const cidrs = items
      .filter((s) => s.metadata?.deletionTimestamp === undefined)
      .flatMap((s) => s.spec?.cidrs ?? []);
    return [...new Set(cidrs)];
  }

  async service(namespace: string, name: string): Promise<V1Service | undefined> {
    return read(this.kc, `Service ${namespace}/${name}`, () =>
      this.core.readNamespacedService({ namespace, name }),
    );
  }

  async nodes(): Promise<V1Node[]> {
    return (await read(this.kc, 'nodes', () => this.core.listNode()))?.items ?? [];
  }
}

function decode(secret: V1Secret, key: string): string | undefined {
  const v = secret.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

function isSelfSigned(c: X509Certificate): boolean {
  return c.checkIssued(c) && c.verify(c.publicKey);
}

/** As the CA decides it: root-cert.pem, else a self-signed ca-cert.pem, else the chain's last. */
function rootOf(secret: V1Secret, source: string): string {
  const pick = (): string | undefined => {
    const root = decode(secret, 'root-cert.pem');
    if (root !== undefined) return root;
    const ca = decode(secret, 'ca-cert.pem');
    if (ca === undefined) return undefined;
    const [first] = splitCertificates(ca);
    if (first !== undefined && isSelfSigned(new X509Certificate(first))) return first;
    return splitCertificates(decode(secret, 'cert-chain.pem') ?? '').at(-1);
  };
  let pem: string | undefined;
  try {
    pem = pick();
    const [cert] = splitCertificates(pem ?? '');
    if (cert === undefined || !isSelfSigned(new X509Certificate(cert))) pem = undefined;
    else pem = cert;
  } catch (e) {
    throw invalid(`${source}: the root certificate does not parse: ${errorMessage(e)}`);
  }
  if (pem === undefined) throw invalid(`${source} holds no self-signed root certificate`);
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

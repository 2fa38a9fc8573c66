/**
 * `istio-lite register` and `deregister`: a VM becomes an endpoint of a Kubernetes Service the
 * way Istio 0.2's `istioctl register` made it one, but recorded as a WorkloadEntry (the modern
 * resource), so Pilot gives it labels, a service account and mTLS exactly as it does a pod.
 *
 * register: the Service is created when missing (selector `app: SERVICE`, the given ports); an
 * existing one must have a selector (that is how it selects entries) and gets any given port it
 * lacks; a given port whose name or number the Service already uses differently is a clash. The
 * entry `SERVICE-<ip>` carries the selector's labels plus `-l`, the annotations `-a`, the ports and
 * `-s`. Everything is checked before the first write; when a later write fails, a Service this
 * run created is deleted again, so a failed run changes nothing.
 *
 * deregister: deletes that entry (the Service stays, as in 0.2).
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Service,
  type V1ServicePort,
} from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { describeApiError, isAlreadyExists, isNotFound } from '../lib/kube/client.ts';
import {
  WorkloadEntryGroup,
  WorkloadEntryPlural,
  WorkloadEntryVersion,
  workloadEntryName,
} from '../lib/workload-entry.ts';
import type { RegisterPort, RegisterRequest } from './register-args.ts';

/** The label `register` puts on its entries: the Service they were registered for. */
export const RegisteredServiceLabel = 'istio-lite.io/registered-service';

function failed(message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidInput, message);
}

async function mustHaveNamespace(core: CoreV1Api, namespace: string): Promise<void> {
  try {
    await core.readNamespace({ name: namespace });
  } catch (e) {
    if (isNotFound(e)) throw failed(`namespace "${namespace}" not found`);
    throw new IstioLiteError(
      ErrorCode.External,
      `reading namespace ${namespace}: ${describeApiError(e)}`,
    );
  }
}

async function readService(
  core: CoreV1Api,
  name: string,
  namespace: string,
): Promise<V1Service | undefined> {
  try {
    return await core.readNamespacedService({ name, namespace });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw new IstioLiteError(
      ErrorCode.External,
      `reading service ${namespace}/${name}: ${describeApiError(e)}`,
    );
  }
}

/** The given ports the Service lacks; throws on a clash with a port it has. */
function missingPorts(svc: V1Service, ports: readonly RegisterPort[]): RegisterPort[] {
  const id = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
  const have = svc.spec?.ports ?? [];
  const out: RegisterPort[] = [];
  for (const p of ports) {
    const byName = have.find((h) => (h.name ?? '') === p.name);
    const byNumber = have.find((h) => h.port === p.port);
    if (byName && byName.port !== p.port) {
      throw failed(
        `port clash: service ${id} has port ${p.name} as ${String(byName.port)}, not ${String(p.port)}`,
      );
    }
    if (byNumber && (byNumber.name ?? '') !== p.name) {
      throw failed(
        `port clash: service ${id} has port ${String(p.port)} named "${byNumber.name ?? ''}", not "${p.name}"`,
      );
    }
    if (!byName) out.push(p);
  }
  return out;
}

function servicePorts(ports: readonly RegisterPort[]): V1ServicePort[] {
  return ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: 'TCP' }));
}

export interface RegisterResult {
  readonly lines: readonly string[];
}

export async function register(kc: KubeConfig, r: RegisterRequest): Promise<RegisterResult> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const lines: string[] = [];
  await mustHaveNamespace(core, r.namespace);
  const existing = await readService(core, r.service, r.namespace);
  const id = `${r.namespace}/${r.service}`;
  let selector: Record<string, string>;
  let addPorts: RegisterPort[] = [];
  if (existing) {
    selector = existing.spec?.selector ?? {};
    if (Object.keys(selector).length === 0) {
      throw failed(
        `service ${id} has no selector: a VM joins a Service through its label selector (add one, e.g. app: ${r.service})`,
      );
    }
    addPorts = missingPorts(existing, r.ports);
  } else {
    selector = { app: r.service };
  }
  for (const [k, v] of Object.entries(r.labels)) {
    if (selector[k] !== undefined && selector[k] !== v) {
      throw failed(
        `--labels ${k}=${v}: service ${id} selects ${k}=${selector[k]}, so the VM would not be its endpoint`,
      );
    }
  }
  const name = workloadEntryName(r.service, r.ip);
  const entry = {
    apiVersion: `${WorkloadEntryGroup}/${WorkloadEntryVersion}`,
    kind: 'WorkloadEntry',
    metadata: {
      name,
      namespace: r.namespace,
      labels: { [RegisteredServiceLabel]: r.service },
      ...(Object.keys(r.annotations).length > 0 ? { annotations: { ...r.annotations } } : {}),
    },
    spec: {
      address: r.ip,
      labels: { ...selector, ...r.labels },
      ports: Object.fromEntries(r.ports.map((p) => [p.name, p.port])),
      serviceAccount: r.serviceAccount,
    },
  };

  let created = false;
  if (!existing) {
    await core
      .createNamespacedService({
        namespace: r.namespace,
        body: {
          metadata: { name: r.service, namespace: r.namespace, labels: { app: r.service } },
          spec: { selector, ports: servicePorts(r.ports) },
        },
      })
      .catch((e: unknown) => {
        throw new IstioLiteError(
          ErrorCode.External,
          `creating service ${id}: ${describeApiError(e)}`,
        );
      });
    created = true;
    lines.push(
      `service ${id} created (selector app=${r.service}; ports ${r.ports.map((p) => `${p.name}:${String(p.port)}`).join(', ')})`,
    );
  } else if (addPorts.length > 0) {
    const body = existing;
    body.spec = existing.spec ?? {};
    body.spec.ports = [...(existing.spec?.ports ?? []), ...servicePorts(addPorts)];
    await core
      .replaceNamespacedService({ name: r.service, namespace: r.namespace, body })
      .catch((e: unknown) => {
        throw new IstioLiteError(
          ErrorCode.External,
          `adding ports to service ${id}: ${describeApiError(e)}`,
        );
      });
    lines.push(
      `service ${id}: added ports ${addPorts.map((p) => `${p.name}:${String(p.port)}`).join(', ')}`,
    );
  }

  try {
    const group = WorkloadEntryGroup;
    const version = WorkloadEntryVersion;
    const plural = WorkloadEntryPlural;
    try {
      await custom.createNamespacedCustomObject({
        group,
        version,
        plural,
        namespace: r.namespace,
        body: entry,
      });
      lines.push(`workloadentry ${r.namespace}/${name} created`);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const old = (await custom.getNamespacedCustomObject({
        group,
        version,
        plural,
        namespace: r.namespace,
        name,
      })) as {
        metadata?: { resourceVersion?: string };
      };
      const body = {
        ...entry,
        metadata: { ...entry.metadata, resourceVersion: old.metadata?.resourceVersion },
      };
      await custom.replaceNamespacedCustomObject({
        group,
        version,
        plural,
        namespace: r.namespace,
        name,
        body,
      });
      lines.push(`workloadentry ${r.namespace}/${name} updated`);
    }
  } catch (e) {
    if (created)
      await core
        .deleteNamespacedService({ name: r.service, namespace: r.namespace })
        .catch(() => undefined);
    throw new IstioLiteError(
      ErrorCode.External,
      `writing WorkloadEntry ${r.namespace}/${name}: ${isNotFound(e) ? 'the WorkloadEntry CRD is not installed (install the chart)' : describeApiError(e)}${created ? `; service ${id} removed again` : ''}`,
    );
  }
  const labels = Object.entries(entry.spec.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  lines.push(
    `${r.ip} is an endpoint of ${id}: labels ${labels}, service account ${r.serviceAccount}`,
  );
  return { lines };
}

export async function deregister(
  kc: KubeConfig,
  r: { readonly service: string; readonly ip: string; readonly namespace: string },
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  await mustHaveNamespace(core, r.namespace);
  const name = workloadEntryName(r.service, r.ip);
  try {
    await kc.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group: WorkloadEntryGroup,
      version: WorkloadEntryVersion,
      plural: WorkloadEntryPlural,
      namespace: r.namespace,
      name,
    });
  } catch (e) {
    if (isNotFound(e)) {
      throw failed(
        `${r.ip} is not registered for ${r.namespace}/${r.service} (no WorkloadEntry ${name})`,
      );
    }
    throw new IstioLiteError(
      ErrorCode.External,
      `deleting WorkloadEntry ${r.namespace}/${name}: ${describeApiError(e)}`,
    );
  }
  return `workloadentry ${r.namespace}/${name} deleted: ${r.ip} is no longer an endpoint of ${r.namespace}/${r.service}`;
}

/**
 * Kubernetes Ingresses of class `istio` (annotation `kubernetes.io/ingress.class: istio`, or
 * `spec.ingressClassName: istio`; the class name comes from the mesh config's `ingressClass`)
 * into the model: per host, paths (Exact, Prefix, ImplementationSpecific as a prefix) to a
 * service port, a default backend, and TLS hosts with their Secret.
 */
import type { V1Ingress, V1IngressBackend } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import {
  ConfigKind,
  PathType,
  type ConfigMeta,
  type Ingress,
  type IngressBackend,
  type IngressRule,
} from './model.ts';

export const IngressClassAnnotation = 'kubernetes.io/ingress.class';

/** Whether the Ingress is ours: the annotation wins over `spec.ingressClassName`, as in Istio. */
export function isIngressOfClass(ing: V1Ingress, ingressClass: string): boolean {
  const annotation = ing.metadata?.annotations?.[IngressClassAnnotation];
  if (annotation !== undefined) return annotation === ingressClass;
  return ing.spec?.ingressClassName === ingressClass;
}

function fail(meta: ConfigMeta, field: string, message: string): never {
  throw new IstioLiteError(
    ErrorCode.InvalidConfig,
    `Ingress ${meta.namespace}/${meta.name}: ${field}: ${message}`,
  );
}

function backend(
  meta: ConfigMeta,
  b: V1IngressBackend,
  field: string,
  domain: string,
): IngressBackend {
  const svc = b.service;
  if (svc === undefined) fail(meta, field, 'only service backends are supported');
  const port = svc.port?.number ?? svc.port?.name;
  if (port === undefined || port === '')
    fail(meta, `${field}.service.port`, 'needs number or name');
  return { host: `${svc.name}.${meta.namespace}.svc.${domain}`, port };
}

/** The Ingress as Pilot routes it; throws an InvalidConfig error naming the field. */
export function parseIngress(ing: V1Ingress, domain: string): Ingress {
  const name = ing.metadata?.name;
  const namespace = ing.metadata?.namespace;
  if (name === undefined || namespace === undefined) {
    throw new IstioLiteError(ErrorCode.InvalidConfig, 'Ingress: metadata needs name and namespace');
  }
  const meta: ConfigMeta = {
    kind: ConfigKind.Ingress,
    namespace,
    name,
    uid: ing.metadata?.uid,
    generation: ing.metadata?.generation,
  };
  const spec = ing.spec ?? {};
  const rules: IngressRule[] = (spec.rules ?? []).map((rule, i) => ({
    host: rule.host === undefined || rule.host === '' ? undefined : rule.host.toLowerCase(),
    paths: (rule.http?.paths ?? []).map((p, j) => {
      const field = `spec.rules[${i}].http.paths[${j}]`;
      const pathType = p.pathType;
      if (!(PathType as readonly string[]).includes(pathType)) {
        fail(meta, `${field}.pathType`, `must be one of ${PathType.join(', ')}`);
      }
      const path = p.path ?? '/';
      if (!path.startsWith('/')) fail(meta, `${field}.path`, `must start with /, got "${path}"`);
      return {
        path,
        pathType: pathType as PathType,
        backend: backend(meta, p.backend, `${field}.backend`, domain),
      };
    }),
  }));
  const defaultBackend =
    spec.defaultBackend === undefined
      ? undefined
      : backend(meta, spec.defaultBackend, 'spec.defaultBackend', domain);
  const tls = (spec.tls ?? []).map((t, i) => {
    if (t.secretName === undefined || t.secretName === '') {
      fail(meta, `spec.tls[${i}].secretName`, 'missing');
    }
    return { hosts: (t.hosts ?? []).map((h) => h.toLowerCase()), secretName: t.secretName };
  });
  return { meta, rules, defaultBackend, tls };
}

/**
 * Per-pod settings read from annotations: proxy resources, the proxy config override, native
 * sidecars and probe rewriting. A bad value is an error naming the annotation.
 */
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { parseProxyConfig, type ProxyConfig } from '../lib/mesh-config.ts';
import { FieldReader } from '../lib/config/field-reader.ts';
import { isQuantity } from '../lib/config/values.ts';
import { parseYamlDocument } from '../lib/yaml.ts';
import type { Resources, ResourceValues } from './config.ts';

export const Annotation = {
  Status: 'sidecar.istio.io/status',
  ProxyCPU: 'sidecar.istio.io/proxyCPU',
  ProxyMemory: 'sidecar.istio.io/proxyMemory',
  ProxyCPULimit: 'sidecar.istio.io/proxyCPULimit',
  ProxyMemoryLimit: 'sidecar.istio.io/proxyMemoryLimit',
  NativeSidecar: 'sidecar.istio.io/nativeSidecar',
  ProxyConfig: 'proxy.istio.io/config',
  DefaultContainer: 'kubectl.kubernetes.io/default-container',
} as const;

export const TlsModeLabel = 'security.istio.io/tlsMode';

function bad(name: string, message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidObject, `annotation ${name}: ${message}`);
}

export function proxyResources(def: Resources, ann: Readonly<Record<string, string>>): Resources {
  const pick = (name: string, fallback: string | undefined): string | undefined => {
    const v = ann[name];
    if (v === undefined) return fallback;
    if (!isQuantity(v))
      throw bad(name, `"${v}" is not a Kubernetes quantity like "100m" or "128Mi"`);
    return v;
  };
  const values = (cpu: string | undefined, memory: string | undefined): ResourceValues => ({
    ...(cpu === undefined ? {} : { cpu }),
    ...(memory === undefined ? {} : { memory }),
  });
  return {
    requests: values(
      pick(Annotation.ProxyCPU, def.requests.cpu),
      pick(Annotation.ProxyMemory, def.requests.memory),
    ),
    limits: values(
      pick(Annotation.ProxyCPULimit, def.limits.cpu),
      pick(Annotation.ProxyMemoryLimit, def.limits.memory),
    ),
  };
}

export function podProxyConfig(
  def: ProxyConfig,
  ann: Readonly<Record<string, string>>,
): ProxyConfig {
  const raw = ann[Annotation.ProxyConfig];
  if (raw === undefined || raw.trim() === '') return def;
  try {
    const value = parseYamlDocument(raw, `annotation ${Annotation.ProxyConfig}`);
    return parseProxyConfig(
      new FieldReader(value, { what: `annotation ${Annotation.ProxyConfig}` }),
      def,
    );
  } catch (e) {
    const msg = errorMessage(e);
    throw new IstioLiteError(
      ErrorCode.InvalidObject,
      msg.startsWith('annotation ') ? msg : `annotation ${Annotation.ProxyConfig}: ${msg}`,
      { cause: e },
    );
  }
}

/** true/false from a boolean annotation; undefined when absent; an error on anything else. */
export function boolAnnotation(
  ann: Readonly<Record<string, string>>,
  name: string,
): boolean | undefined {
  const v = ann[name];
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw bad(name, `must be "true" or "false", got "${v}"`);
}

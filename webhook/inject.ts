/**
 * Injection of one pod template, in place: decide, then render and place the sidecar, or (for a pod
 * already injected) only reconcile what another webhook may have added since: probes of new
 * containers, and `istio-init` kept last among classic init containers. Pure: no I/O.
 */
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { isObject, nameOf, stringMap, type JsonObject, type JsonValue } from '../lib/json.ts';
import { atLeast, type KubeVersion } from '../lib/kube-version.ts';
import type { MeshConfig } from '../lib/mesh-config.ts';
import {
  Annotation,
  TlsModeLabel,
  boolAnnotation,
  podProxyConfig,
  proxyResources,
} from './annotations.ts';
import { captureForPod } from './capture.ts';
import type { InjectorConfig } from './config.ts';
import { decide, type Decision } from './policy.ts';
import { existingProbers, rewriteAnnotation, rewriteProbes, setProberEnv } from './probes.ts';
import {
  InitContainer,
  ProxyContainer,
  renderInit,
  renderProxy,
  renderVolumes,
} from './sidecar.ts';
import { mergeUserProxy } from './user-proxy.ts';
import type { PodTemplateRef } from './workloads.ts';

export interface InjectContext {
  readonly config: InjectorConfig;
  readonly mesh: MeshConfig;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Namespace for objects that do not name one (the admission request's namespace). */
  readonly namespace: string;
  /** The cluster's version, for `nativeSidecars: auto`; unknown means classic sidecars. */
  readonly kubernetesVersion?: KubeVersion | undefined;
}

export interface TemplateResult {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly decision: Decision;
  readonly warnings: readonly string[];
}

function fail(ref: PodTemplateRef, message: string): never {
  throw new IstioLiteError(ErrorCode.InvalidObject, `${ref.kind} ${ref.name}: ${message}`);
}

function containerList(ref: PodTemplateRef, key: 'containers' | 'initContainers'): JsonObject[] {
  const v = ref.spec[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every(isObject))
    fail(ref, `spec.${key} must be a list of containers`);
  v.forEach((c, i) => {
    if (typeof c['name'] !== 'string') fail(ref, `spec.${key}[${i}].name must be a string`);
  });
  return v;
}

function strings(ref: PodTemplateRef, key: 'labels' | 'annotations'): Record<string, string> {
  const v = stringMap(ref.metadata[key]);
  if (v === undefined) fail(ref, `metadata.${key} must be a map of strings`);
  return { ...v };
}

const named = (name: string) => (c: JsonObject) => c['name'] === name;

function useNative(ctx: InjectContext, ann: Readonly<Record<string, string>>): boolean {
  const explicit = boolAnnotation(ann, Annotation.NativeSidecar);
  if (explicit !== undefined) return explicit;
  switch (ctx.config.nativeSidecars) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'auto':
      return ctx.kubernetesVersion !== undefined && atLeast(ctx.kubernetesVersion, 1, 29);
  }
}

export function injectTemplate(ref: PodTemplateRef, ctx: InjectContext): TemplateResult {
  const warnings: string[] = [];
  const labels = strings(ref, 'labels');
  const annotations = strings(ref, 'annotations');
  const containers = containerList(ref, 'containers');
  const inits = containerList(ref, 'initContainers');
  const namespace = ref.namespace ?? ctx.namespace;
  const hasInit = inits.some(named(InitContainer));
  const proxyInContainers = containers.some(named(ProxyContainer));
  const proxyInInits = inits.some(named(ProxyContainer));
  const alreadyInjected =
    annotations[Annotation.Status] !== undefined ||
    (hasInit && (proxyInContainers || proxyInInits));

  const decision = decide(
    {
      namespace,
      namespaceLabels: ctx.namespaceLabels,
      labels,
      annotations,
      hostNetwork: ref.spec['hostNetwork'] === true,
      alreadyInjected,
    },
    ctx.config,
    warnings,
  );
  const result = { kind: ref.kind, name: ref.name, namespace, decision, warnings };
  if (decision.inject) {
    inject(ref, ctx, { labels, annotations, containers, inits, warnings });
  } else if (decision.reason === 'already_injected') {
    reconcile(ref, ctx, { annotations, containers, inits, warnings });
  }
  return result;
}

interface PodParts {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly containers: JsonObject[];
  readonly inits: JsonObject[];
  readonly warnings: string[];
}

function rewriteEnabled(ctx: InjectContext, ann: Readonly<Record<string, string>>): boolean {
  return boolAnnotation(ann, rewriteAnnotation) ?? ctx.config.rewriteAppProbers;
}

function inject(ref: PodTemplateRef, ctx: InjectContext, pod: PodParts): void {
  const { config, mesh } = ctx;
  const { labels, annotations, warnings } = pod;
  const proxyConfig = podProxyConfig(mesh.defaultConfig, annotations);
  const native = useNative(ctx, annotations);
  const sa = ref.spec['serviceAccountName'] ?? ref.spec['serviceAccount'];
  const input = {
    config,
    proxyConfig,
    mixerAddress: mesh.mixerCheckServer,
    trustDomain: mesh.trustDomain,
    caAddress: mesh.caAddress,
    capture: captureForPod(config.capture, annotations),
    resources: proxyResources(config.proxy.resources, annotations),
    app: labels['app'],
    serviceAccount: typeof sa === 'string' && sa !== '' ? sa : 'default',
    native,
  };

  // A user-declared istio-proxy (in either list) overrides fields of the injected one.
  const userProxy = [...pod.containers, ...pod.inits].find(named(ProxyContainer));
  const containers = pod.containers.filter((c) => !named(ProxyContainer)(c));
  const userInits = pod.inits.filter((c) => !named(ProxyContainer)(c) && !named(InitContainer)(c));
  const proxy = mergeUserProxy(renderProxy(input), userProxy);

  if (rewriteEnabled(ctx, annotations)) {
    setProberEnv(proxy, rewriteProbes(containers, proxyConfig.statusPort, warnings));
  }

  const init = renderInit(input);
  if (native) {
    ref.spec['initContainers'] = [init, proxy, ...userInits];
    ref.spec['containers'] = containers;
  } else {
    ref.spec['initContainers'] = [...userInits, init];
    ref.spec['containers'] = proxyConfig.holdApplicationUntilProxyStarts
      ? [proxy, ...containers]
      : [...containers, proxy];
  }

  const volumes: JsonValue[] = Array.isArray(ref.spec['volumes']) ? ref.spec['volumes'] : [];
  const added: string[] = [];
  for (const v of renderVolumes(input)) {
    if (volumes.some((x) => isObject(x) && x['name'] === v['name'])) continue;
    volumes.push(v);
    added.push(nameOf(v));
  }
  ref.spec['volumes'] = volumes;

  const appNames = containers.map(nameOf);
  const status = {
    initContainers: native ? [InitContainer, ProxyContainer] : [InitContainer],
    containers: native ? [] : [ProxyContainer],
    volumes: added,
    imagePullSecrets: null,
    revision: config.revision,
  };
  for (const [k, v] of Object.entries(config.injectedAnnotations)) annotations[k] ??= v;
  const first = appNames[0];
  if (first !== undefined) annotations[Annotation.DefaultContainer] ??= first;
  annotations[Annotation.Status] = JSON.stringify(status);
  labels[TlsModeLabel] ??= 'istio';
  ref.metadata['annotations'] = annotations;
  ref.metadata['labels'] = labels;
}

/** For an injected pod: rewrite probes of containers added since, keep istio-init last. */
function reconcile(ref: PodTemplateRef, ctx: InjectContext, pod: Omit<PodParts, 'labels'>): void {
  const proxy = [...pod.containers, ...pod.inits].find(named(ProxyContainer));
  if (proxy === undefined) return;
  if (rewriteEnabled(ctx, pod.annotations)) {
    const statusPort = podProxyConfig(ctx.mesh.defaultConfig, pod.annotations).statusPort;
    const apps = pod.containers.filter((c) => c !== proxy);
    const fresh = rewriteProbes(apps, statusPort, pod.warnings);
    if (Object.keys(fresh).length > 0) setProberEnv(proxy, { ...existingProbers(proxy), ...fresh });
  }
  const native = pod.inits.includes(proxy);
  const initIdx = pod.inits.findIndex(named(InitContainer));
  if (!native && initIdx >= 0 && initIdx !== pod.inits.length - 1) {
    const [init] = pod.inits.splice(initIdx, 1);
    if (init) pod.inits.push(init);
    ref.spec['initContainers'] = pod.inits;
  }
}

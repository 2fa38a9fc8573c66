/**
 * The injector configuration: what the `istio-sidecar-injector` ConfigMap holds under `config`.
 * One typed, readonly object, validated once; a bad field is an error naming the field.
 */
import { FieldReader } from '../lib/config/field-reader.ts';
import { isQuantity } from '../lib/config/values.ts';
import { parseLabelSelector, type LabelSelector } from '../lib/label-selector.ts';
import type { JsonValue } from '../lib/json.ts';
import { parseCaptureSpec, type CaptureSpec } from './capture.ts';

export const InjectionPolicy = ['enabled', 'disabled'] as const;
export type InjectionPolicy = (typeof InjectionPolicy)[number];

export const NativeSidecars = ['auto', 'true', 'false'] as const;
export type NativeSidecars = (typeof NativeSidecars)[number];

export const PullPolicy = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PullPolicy)[number];

export interface ResourceValues {
  readonly cpu?: string;
  readonly memory?: string;
}

export interface Resources {
  readonly requests: ResourceValues;
  readonly limits: ResourceValues;
}

export interface ProxyValues {
  readonly image: string;
  readonly imagePullPolicy: PullPolicy;
  /** Envoy's log level passed to the agent. */
  readonly logLevel: string;
  readonly uid: number;
  readonly gid: number;
  readonly resources: Resources;
}

export interface InitValues {
  readonly image: string;
  readonly resources: Resources;
}

export interface InjectorConfig {
  /** `enabled`: inject unless opted out; `disabled`: inject only on explicit opt-in. */
  readonly policy: InjectionPolicy;
  /** This control plane's revision; `istio.io/rev` labels must equal it. */
  readonly revision: string;
  readonly alwaysInjectSelector: readonly LabelSelector[];
  readonly neverInjectSelector: readonly LabelSelector[];
  /** Annotations added to every injected pod. */
  readonly injectedAnnotations: Readonly<Record<string, string>>;
  /** Namespaces never injected, besides the control-plane namespace. */
  readonly systemNamespaces: readonly string[];
  readonly controlPlaneNamespace: string;
  /** `auto` uses native sidecars when the Kubernetes version is at least 1.29. */
  readonly nativeSidecars: NativeSidecars;
  readonly rewriteAppProbers: boolean;
  readonly proxy: ProxyValues;
  readonly proxyInit: InitValues;
  /** Default capture rules; `traffic.sidecar.istio.io/*` annotations override them per pod. */
  readonly capture: CaptureSpec;
}

export const defaultProxyImage = 'istio-lite-proxy:0.1.0';

export const defaultInjectorConfig: InjectorConfig = {
  policy: 'enabled',
  revision: 'default',
  alwaysInjectSelector: [],
  neverInjectSelector: [],
  injectedAnnotations: {},
  systemNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'],
  controlPlaneNamespace: 'istio-system',
  nativeSidecars: 'auto',
  rewriteAppProbers: true,
  proxy: {
    image: defaultProxyImage,
    imagePullPolicy: 'IfNotPresent',
    logLevel: 'warning',
    uid: 1337,
    gid: 1337,
    resources: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '2000m', memory: '1024Mi' },
    },
  },
  proxyInit: {
    image: defaultProxyImage,
    resources: {
      requests: { cpu: '10m', memory: '10Mi' },
      limits: { cpu: '100m', memory: '50Mi' },
    },
  },
  capture: {
    includeOutboundIPRanges: '*',
    excludeOutboundIPRanges: '',
    includeInboundPorts: '*',
    excludeInboundPorts: '',
    includeOutboundPorts: '',
    excludeOutboundPorts: '',
  },
};

const WHAT = 'injector config';
const LogLevels = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'] as const;

function resources(r: FieldReader, def: Resources): Resources {
  const values = (key: 'requests' | 'limits'): ResourceValues => {
    const o = r.object(key);
    const out: { cpu?: string; memory?: string } = {};
    for (const k of ['cpu', 'memory'] as const) {
      const v = o.string(k, def[key][k] ?? '');
      if (v === '') continue;
      if (!isQuantity(v))
        o.fail(k, `must be a Kubernetes quantity like "100m" or "128Mi", got "${v}"`);
      out[k] = v;
    }
    o.done();
    return out;
  };
  const res = { requests: values('requests'), limits: values('limits') };
  r.done();
  return res;
}

function selectors(r: FieldReader, key: string): LabelSelector[] {
  return r.list(key).map(parseLabelSelector);
}

function image(r: FieldReader, key: string, def: string): string {
  const v = r.string(key, def);
  if (v === '' || /\s/.test(v)) r.fail(key, `must be a container image reference, got "${v}"`);
  return v;
}

export function parseInjectorConfig(value: JsonValue | undefined): InjectorConfig {
  const d = defaultInjectorConfig;
  const r = new FieldReader(value, { what: WHAT });
  const p = r.object('proxy');
  const proxy: ProxyValues = {
    image: image(p, 'image', d.proxy.image),
    imagePullPolicy: p.oneOf('imagePullPolicy', PullPolicy, d.proxy.imagePullPolicy),
    logLevel: p.oneOf('logLevel', LogLevels, 'warning'),
    uid: p.integer('uid', d.proxy.uid, 1, 2 ** 31 - 1),
    gid: p.integer('gid', d.proxy.gid, 1, 2 ** 31 - 1),
    resources: resources(p.object('resources'), d.proxy.resources),
  };
  p.done();
  const pi = r.object('proxyInit');
  const proxyInit: InitValues = {
    image: image(pi, 'image', d.proxyInit.image),
    resources: resources(pi.object('resources'), d.proxyInit.resources),
  };
  pi.done();
  const config: InjectorConfig = {
    policy: r.oneOf('policy', InjectionPolicy, d.policy),
    revision: r.string('revision', d.revision),
    alwaysInjectSelector: selectors(r, 'alwaysInjectSelector'),
    neverInjectSelector: selectors(r, 'neverInjectSelector'),
    injectedAnnotations: Object.fromEntries(r.stringMap('injectedAnnotations')),
    systemNamespaces: r.stringList('systemNamespaces', d.systemNamespaces),
    controlPlaneNamespace: r.string('controlPlaneNamespace', d.controlPlaneNamespace),
    nativeSidecars: r.oneOf('nativeSidecars', NativeSidecars, d.nativeSidecars),
    rewriteAppProbers: r.boolean('rewriteAppProbers', d.rewriteAppProbers),
    proxy,
    proxyInit,
    capture: parseCaptureSpec(r.object('capture'), d.capture),
  };
  r.done();
  return config;
}

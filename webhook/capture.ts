/**
 * Traffic capture for `istio-init`: defaults from the injector config, overridden per pod by the
 * `traffic.sidecar.istio.io/*` annotations, validated (a bad CIDR or port names its annotation),
 * and turned into the init container's arguments.
 */
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { cidrListError, portListError, splitList } from '../lib/net.ts';
import type { FieldReader } from '../lib/config/field-reader.ts';
import { Port } from '../lib/ports.ts';

export interface CaptureSpec {
  readonly includeOutboundIPRanges: string;
  readonly excludeOutboundIPRanges: string;
  readonly includeInboundPorts: string;
  readonly excludeInboundPorts: string;
  readonly includeOutboundPorts: string;
  readonly excludeOutboundPorts: string;
}

type Key = keyof CaptureSpec;

interface FieldRule {
  readonly flag: string;
  readonly check: (v: string) => string | undefined;
}

const rules: Readonly<Record<Key, FieldRule>> = {
  includeOutboundIPRanges: { flag: '-i', check: (v) => cidrListError(v, true) },
  excludeOutboundIPRanges: { flag: '-x', check: (v) => cidrListError(v, false) },
  includeInboundPorts: { flag: '-b', check: (v) => portListError(v, true) },
  excludeInboundPorts: { flag: '-d', check: (v) => portListError(v, false) },
  includeOutboundPorts: { flag: '-q', check: (v) => portListError(v, false) },
  excludeOutboundPorts: { flag: '-o', check: (v) => portListError(v, false) },
};

const keys = Object.keys(rules) as Key[];

export const captureAnnotationPrefix = 'traffic.sidecar.istio.io/';

const annotationNames = keys.map((k) => [k, captureAnnotationPrefix + k] as const);

export function parseCaptureSpec(r: FieldReader, def: CaptureSpec): CaptureSpec {
  const out: Record<Key, string> = { ...def };
  for (const k of keys) {
    const v = r.string(k, def[k]).replace(/\s+/g, '');
    const err = rules[k].check(v);
    if (err) r.fail(k, err);
    out[k] = v;
  }
  r.done();
  return out;
}

/**
 * The pod's capture spec: config defaults with the pod's annotations applied; `def` itself when
 * the pod has none of them (so its init arguments come from initArgs' cache).
 */
export function captureForPod(
  def: CaptureSpec,
  annotations: Readonly<Record<string, string>>,
): CaptureSpec {
  let out: Record<Key, string> | undefined;
  for (const [k, name] of annotationNames) {
    const raw = annotations[name];
    if (raw === undefined) continue;
    const v = raw.replace(/\s+/g, '');
    const err = rules[k].check(v);
    if (err) {
      throw new IstioLiteError(ErrorCode.InvalidObject, `annotation ${name}: ${err}`);
    }
    out ??= { ...def };
    out[k] = v;
  }
  return out ?? def;
}

/** Ports the sidecar itself listens on: never captured inbound. */
const alwaysExcludedInbound = [Port.EnvoyPrometheus, Port.Readiness, Port.AgentStatus];

/**
 * Arguments already made, by spec object (the config's own spec for every pod without capture
 * annotations; a new config brings a new spec) and then by uid:gid.
 */
const argsCache = new WeakMap<CaptureSpec, Map<string, readonly string[]>>();

/**
 * `istio-lite init` arguments; every flag is given so the rules are explicit in the pod spec.
 * A new array each call (the caller places it in a pod); the work is done once per spec object.
 */
export function initArgs(spec: CaptureSpec, uid: number, gid: number): string[] {
  let bySpec = argsCache.get(spec);
  if (bySpec === undefined) {
    bySpec = new Map();
    argsCache.set(spec, bySpec);
  }
  const key = `${String(uid)}:${String(gid)}`;
  let args = bySpec.get(key);
  if (args === undefined) {
    args = makeInitArgs(spec, uid, gid);
    bySpec.set(key, args);
  }
  return [...args];
}

function makeInitArgs(spec: CaptureSpec, uid: number, gid: number): string[] {
  const excludedInbound = [
    ...new Set([...alwaysExcludedInbound.map(String), ...splitList(spec.excludeInboundPorts)]),
  ].join(',');
  const args = [
    'init',
    '-p',
    String(Port.OutboundCapture),
    '-z',
    String(Port.InboundCapture),
    '-u',
    String(uid),
    '-g',
    String(gid),
    '-m',
    'REDIRECT',
    rules.includeOutboundIPRanges.flag,
    spec.includeOutboundIPRanges,
    rules.excludeOutboundIPRanges.flag,
    spec.excludeOutboundIPRanges,
    rules.includeInboundPorts.flag,
    spec.includeInboundPorts,
    rules.excludeInboundPorts.flag,
    excludedInbound,
  ];
  if (spec.includeOutboundPorts !== '') {
    args.push(rules.includeOutboundPorts.flag, spec.includeOutboundPorts);
  }
  if (spec.excludeOutboundPorts !== '') {
    args.push(rules.excludeOutboundPorts.flag, spec.excludeOutboundPorts);
  }
  return args;
}

/**
 * Tells users whether their traffic config applied: after each build, every RouteRule,
 * DestinationPolicy and EgressRule gets status condition `Applied` (True, or False with a reason
 * and a message saying why) through the status subresource, written only when it differs from
 * what the object already says; an object that cannot be applied also gets a Warning Event
 * (reason `RuleNotApplied`) once per message, and so does an Ingress (which has no conditions).
 *
 * Every Pilot replica computes the same conditions, so two replicas writing is harmless.
 */
import { errorMessage } from '../../lib/errors.ts';
import type { KubeHttp } from '../../lib/kube/http.ts';
import { isObject } from '../../lib/json.ts';
import type { Logger } from '../../lib/log.ts';
import { ConfigKind, configKey, type ConfigMeta } from '../config/model.ts';
import { CrdKinds, type CrdKind } from '../config/parse.ts';
import type { Traffic } from '../traffic/traffic.ts';
import { ConfigGroup, ConfigVersion } from './config-watch.ts';
import type { RawObject } from './custom-objects.ts';

export const AppliedCondition = 'Applied';
export const NotAppliedReason = 'RuleNotApplied';

export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
}

export interface StatusWriterOptions {
  readonly http: KubeHttp;
  readonly logger: Logger;
  /** The cached raw object (its current status). */
  readonly raw: (kind: CrdKind, namespace: string, name: string) => RawObject | undefined;
  /** Names this Pilot in Events. */
  readonly instance: string;
}

function isCrdKind(kind: string): kind is CrdKind {
  return kind in CrdKinds;
}

/** The Applied condition an object currently has, if any. */
export function currentCondition(raw: RawObject | undefined): Partial<Condition> | undefined {
  const status = raw?.status;
  if (!isObject(status) || !Array.isArray(status['conditions'])) return undefined;
  const c = status['conditions'].find((x) => isObject(x) && x['type'] === AppliedCondition);
  return isObject(c) ? c : undefined;
}

export class StatusWriter {
  private readonly o: StatusWriterOptions;
  private readonly log: Logger;
  /** Event already recorded, by object key → message. */
  private evented = new Map<string, string>();
  /** Writes in flight, by object key → the JSON of what is being written. */
  private readonly inFlight = new Map<string, string>();

  constructor(o: StatusWriterOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'status-writer' });
  }

  /** Brings every object's condition (and Events) in line with a build's traffic. */
  report(traffic: Traffic): void {
    const wanted = new Map<
      string,
      { meta: ConfigMeta; ok: boolean; reason: string; message: string }
    >();
    for (const meta of traffic.applied) {
      wanted.set(configKey(meta), {
        meta,
        ok: true,
        reason: 'Applied',
        message: 'applied to the mesh',
      });
    }
    for (const p of traffic.problems) {
      const key = configKey(p.meta);
      const had = wanted.get(key);
      // Several problems of one object: the first one is shown.
      if (had === undefined || had.ok) {
        wanted.set(key, { meta: p.meta, ok: false, reason: p.reason, message: p.message });
      }
    }
    const evented = new Map<string, string>();
    for (const [key, w] of wanted) {
      if (!w.ok) {
        evented.set(key, w.message);
        if (this.evented.get(key) !== w.message) this.event(w.meta, w.message);
      }
      if (isCrdKind(w.meta.kind))
        this.condition(key, w.meta.kind, w.meta, w.ok, w.reason, w.message);
    }
    this.evented = evented;
  }

  private condition(
    key: string,
    kind: CrdKind,
    meta: ConfigMeta,
    ok: boolean,
    reason: string,
    message: string,
  ): void {
    const raw = this.o.raw(kind, meta.namespace, meta.name);
    if (raw === undefined || raw.metadata?.uid !== meta.uid) return; // gone or replaced
    const status = ok ? 'True' : 'False';
    const cur = currentCondition(raw);
    const generation = raw.metadata?.generation ?? meta.generation;
    if (
      cur?.status === status &&
      cur.reason === reason &&
      cur.message === message &&
      cur.observedGeneration === generation
    ) {
      return;
    }
    const condition: Condition = {
      type: AppliedCondition,
      status,
      reason,
      message: message.slice(0, 1000),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime:
        cur?.status === status && typeof cur.lastTransitionTime === 'string'
          ? cur.lastTransitionTime
          : new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    const body = {
      status: {
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
        conditions: [condition],
      },
    };
    const json = JSON.stringify(body);
    if (this.inFlight.get(key) === json) return;
    this.inFlight.set(key, json);
    const path = `/apis/${ConfigGroup}/${ConfigVersion}/namespaces/${encodeURIComponent(meta.namespace)}/${CrdKinds[kind]}/${encodeURIComponent(meta.name)}/status`;
    this.o.http
      .json('PATCH', path, body, 'application/merge-patch+json')
      .catch((e: unknown) => {
        this.log.warn({ object: key, err: errorMessage(e) }, 'could not write status');
      })
      .finally(() => {
        if (this.inFlight.get(key) === json) this.inFlight.delete(key);
      });
  }

  private event(meta: ConfigMeta, message: string): void {
    const time = new Date().toISOString();
    const apiVersion =
      meta.kind === ConfigKind.Ingress ? 'networking.k8s.io/v1' : `${ConfigGroup}/${ConfigVersion}`;
    this.o.http
      .json('POST', `/api/v1/namespaces/${encodeURIComponent(meta.namespace)}/events`, {
        metadata: { generateName: `${meta.name}.`, namespace: meta.namespace },
        involvedObject: {
          apiVersion,
          kind: meta.kind,
          name: meta.name,
          namespace: meta.namespace,
          ...(meta.uid !== undefined ? { uid: meta.uid } : {}),
        },
        reason: NotAppliedReason,
        message: message.slice(0, 1000),
        type: 'Warning',
        source: { component: 'istio-pilot' },
        reportingComponent: 'istio-pilot',
        reportingInstance: this.o.instance,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      })
      .catch((e: unknown) => {
        this.log.warn(
          { object: configKey(meta), err: errorMessage(e) },
          'could not record an Event',
        );
      });
  }
}

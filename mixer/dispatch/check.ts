/**
 * Check: run the check actions of every matching rule, then (when the precondition is OK) the
 * requested quotas, and combine the answers into one decision with how long and how often a client
 * may reuse it and exactly which attributes it depended on.
 *
 * Combining: the first non-OK status (rules in name order, see snapshot.ts) wins; valid duration and use count are the
 * smallest any handler gave (defaults 10 s and 200 when none narrowed them). A requested quota
 * without a matching quota instance is granted in full; one granted less than asked (and not best
 * effort) makes the precondition RESOURCE_EXHAUSTED.
 *
 * An adapter failure (a thrown error, Redis down) follows the fail policy: `closed` answers
 * UNAVAILABLE, `open` answers OK (and grants quotas); either way the status message names the
 * handler and the error, and the answer is valid for only `failureValidMs`.
 */
import { errorMessage } from '../../lib/errors.ts';
import type { AttributeRef } from '../../lib/mixer/referenced.ts';
import type { Value } from '../../lib/mixer/value.ts';
import {
  Code,
  okStatus,
  type CheckInstance,
  type CheckResult,
  type Handler,
  type QuotaArgs,
  type QuotaInstance,
  type QuotaResult,
  type Status,
  type TemplateInstance,
} from '../adapter.ts';
import type { CompiledAction, Snapshot } from '../config/snapshot.ts';
import { InstanceError } from '../config/instance-fields.ts';
import { TrackingReader } from '../expr/reader.ts';
import { matchingRules } from './scope.ts';

export const FailPolicy = ['closed', 'open'] as const;
export type FailPolicy = (typeof FailPolicy)[number];

export interface CheckPolicy {
  readonly failPolicy: FailPolicy;
  readonly defaultValidMs: number;
  readonly defaultValidUses: number;
  readonly failureValidMs: number;
}

export const defaultCheckPolicy: CheckPolicy = {
  failPolicy: 'closed',
  defaultValidMs: 10_000,
  defaultValidUses: 200,
  failureValidMs: 1000,
};

export interface QuotaAsk {
  readonly amount: number;
  readonly bestEffort: boolean;
}

export interface QuotaOutcome {
  readonly granted: number;
  readonly validDurationMs: number;
}

export interface CheckOutcome {
  readonly status: Status;
  readonly validDurationMs: number;
  readonly validUseCount: number;
  readonly referenced: readonly AttributeRef[];
  readonly quotas: ReadonlyMap<string, QuotaOutcome>;
  /** Handlers that failed, with the error (for logs and metrics). */
  readonly failures: readonly { handler: string; error: string }[];
  /** Per handler call: name, adapter and milliseconds (for metrics). */
  readonly calls: readonly { handler: string; adapter: string; ms: number; ok: boolean }[];
}

interface Acc {
  status: Status;
  validMs: number;
  uses: number;
  narrowed: boolean;
  readonly failures: { handler: string; error: string }[];
  readonly calls: { handler: string; adapter: string; ms: number; ok: boolean }[];
}

function fold(acc: Acc, r: CheckResult): void {
  if (acc.status.code === Code.OK && r.status.code !== Code.OK) acc.status = r.status;
  acc.validMs = acc.narrowed ? Math.min(acc.validMs, r.validDurationMs) : r.validDurationMs;
  acc.uses = acc.narrowed ? Math.min(acc.uses, r.validUseCount) : r.validUseCount;
  acc.narrowed = true;
}

function failed(acc: Acc, policy: CheckPolicy, handler: string, e: unknown): CheckResult {
  const error = errorMessage(e);
  acc.failures.push({ handler, error });
  const open = policy.failPolicy === 'open';
  return {
    status: {
      code: open ? Code.OK : Code.UNAVAILABLE,
      message: `${handler} failed (${error}); failing ${open ? 'open' : 'closed'}`,
    },
    validDurationMs: policy.failureValidMs,
    validUseCount: 1,
  };
}

async function timed<T>(acc: Acc, a: CompiledAction, run: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  let ok = false;
  try {
    const r = await run();
    ok = true;
    return r;
  } finally {
    acc.calls.push({ handler: a.handlerName, adapter: a.adapter, ms: performance.now() - t0, ok });
  }
}

/**
 * The handler's call for an instance: `check` for the built-in templates, `checkCustom` for the
 * ones modules add; undefined when the handler has no such method.
 */
function checkCall(
  handler: Handler,
  custom: boolean,
  instance: CheckInstance | TemplateInstance,
): (() => CheckResult | Promise<CheckResult>) | undefined {
  if (custom) {
    if (!handler.checkCustom) return undefined;
    return () =>
      (handler.checkCustom as NonNullable<Handler['checkCustom']>).call(
        handler,
        instance as TemplateInstance,
      );
  }
  if (!handler.check) return undefined;
  return () =>
    (handler.check as NonNullable<Handler['check']>).call(handler, instance as CheckInstance);
}

function quotaCall(
  handler: Handler,
  custom: boolean,
  instance: QuotaInstance | TemplateInstance,
  args: QuotaArgs,
): (() => QuotaResult | Promise<QuotaResult>) | undefined {
  if (custom) {
    if (!handler.quotaCustom) return undefined;
    return () =>
      (handler.quotaCustom as NonNullable<Handler['quotaCustom']>).call(
        handler,
        instance as TemplateInstance,
        args,
      );
  }
  if (!handler.quota) return undefined;
  return () =>
    (handler.quota as NonNullable<Handler['quota']>).call(handler, instance as QuotaInstance, args);
}

export async function dispatchCheck(
  snapshot: Snapshot,
  bag: ReadonlyMap<string, Value>,
  quotas: ReadonlyMap<string, QuotaAsk>,
  deduplicationId: string,
  policy: CheckPolicy = defaultCheckPolicy,
  preconditions = true,
): Promise<CheckOutcome> {
  const reader = new TrackingReader(bag);
  const rules = matchingRules(snapshot, reader, preconditions ? ['check', 'quota'] : ['quota']);
  const acc: Acc = {
    status: okStatus,
    validMs: 0,
    uses: 0,
    narrowed: false,
    failures: [],
    calls: [],
  };

  const pending: Promise<CheckResult>[] = [];
  for (const rule of preconditions ? rules : []) {
    for (const a of rule.actions.check) {
      for (const ci of a.instances) {
        let instance: CheckInstance | TemplateInstance;
        try {
          instance = ci.build(reader) as CheckInstance | TemplateInstance;
        } catch (e) {
          if (!(e instanceof InstanceError)) throw e;
          pending.push(
            Promise.resolve({
              status: { code: Code.INVALID_ARGUMENT, message: e.message },
              validDurationMs: policy.defaultValidMs,
              validUseCount: policy.defaultValidUses,
            }),
          );
          continue;
        }
        const call = checkCall(a.handler, ci.custom, instance);
        if (!call) continue;
        pending.push(
          timed(acc, a, call).catch((e: unknown) => failed(acc, policy, a.handlerName, e)),
        );
      }
    }
  }
  for (const r of await Promise.all(pending)) fold(acc, r);

  const quotaOut = new Map<string, QuotaOutcome>();
  if (acc.status.code === Code.OK && quotas.size > 0) {
    await runQuotas(
      rules.flatMap((r) => r.actions.quota),
      quotas,
      deduplicationId,
      reader,
      acc,
      policy,
      quotaOut,
    );
  }
  return {
    status: acc.status,
    validDurationMs: acc.narrowed ? acc.validMs : policy.defaultValidMs,
    validUseCount: acc.narrowed ? acc.uses : policy.defaultValidUses,
    referenced: reader.references(),
    quotas: quotaOut,
    failures: acc.failures,
    calls: acc.calls,
  };
}

async function runQuotas(
  actions: readonly CompiledAction[],
  asks: ReadonlyMap<string, QuotaAsk>,
  deduplicationId: string,
  reader: TrackingReader,
  acc: Acc,
  policy: CheckPolicy,
  out: Map<string, QuotaOutcome>,
): Promise<void> {
  await Promise.all(
    [...asks].map(async ([quotaName, ask]) => {
      let granted = ask.amount;
      let validMs = policy.defaultValidMs;
      for (const a of actions) {
        for (const ci of a.instances) {
          if (ci.name !== quotaName && ci.name.split('.')[0] !== quotaName) continue;
          let instance: QuotaInstance | TemplateInstance;
          try {
            instance = ci.build(reader) as QuotaInstance | TemplateInstance;
          } catch (e) {
            if (!(e instanceof InstanceError)) throw e;
            acc.failures.push({ handler: a.handlerName, error: e.message });
            granted = 0;
            continue;
          }
          const call = quotaCall(a.handler, ci.custom, instance, {
            amount: ask.amount,
            bestEffort: ask.bestEffort,
            deduplicationId,
          });
          if (!call) continue;
          try {
            const r = await timed(acc, a, call);
            granted = Math.min(granted, r.granted);
            validMs = Math.min(validMs, r.validDurationMs > 0 ? r.validDurationMs : validMs);
          } catch (e) {
            const f = failed(acc, policy, a.handlerName, e);
            if (policy.failPolicy === 'closed') {
              granted = 0;
              if (acc.status.code === Code.OK) acc.status = f.status;
            } else if (acc.status.message === '') {
              acc.status = f.status;
            }
            validMs = Math.min(validMs, policy.failureValidMs);
            // The precondition answer must not be cached longer than the failure's.
            acc.validMs = acc.narrowed
              ? Math.min(acc.validMs, f.validDurationMs)
              : f.validDurationMs;
            acc.uses = acc.narrowed ? Math.min(acc.uses, f.validUseCount) : f.validUseCount;
            acc.narrowed = true;
          }
        }
      }
      out.set(quotaName, { granted, validDurationMs: validMs });
      if (granted < ask.amount && !ask.bestEffort && acc.status.code === Code.OK) {
        acc.status = {
          code: Code.RESOURCE_EXHAUSTED,
          message: `quota ${quotaName} exhausted (granted ${String(granted)} of ${String(ask.amount)})`,
        };
      }
    }),
  );
}

/**
 * Report: for every reported attribute set, build the report instances of every matching rule,
 * then hand each handler all of its instances from the whole request in one call (adapters see
 * batches). Instance and adapter failures are counted and returned, never thrown: telemetry
 * problems do not fail the caller's request.
 */
import { errorMessage } from '../../lib/errors.ts';
import type { AttributeSets } from '../../lib/mixer/decompress.ts';
import type { ReportInstance, TemplateInstance } from '../adapter.ts';
import type { CompiledAction, Snapshot } from '../config/snapshot.ts';
import { InstanceError } from '../config/instance-fields.ts';
import { BagReader } from '../expr/reader.ts';
import { matchingRules } from './scope.ts';

export interface ReportOutcome {
  readonly instances: number;
  readonly instanceErrors: readonly string[];
  readonly failures: readonly { handler: string; error: string }[];
  readonly calls: readonly { handler: string; adapter: string; ms: number; ok: boolean }[];
}

export async function dispatchReport(
  snapshot: Snapshot,
  bags: AttributeSets,
): Promise<ReportOutcome> {
  const batches = new Map<
    string,
    { action: CompiledAction; instances: ReportInstance[]; custom: TemplateInstance[] }
  >();
  const instanceErrors: string[] = [];
  let count = 0;
  for (const bag of bags) {
    const reader = new BagReader(bag);
    for (const rule of matchingRules(snapshot, reader, ['report'])) {
      for (const a of rule.actions.report) {
        let batch = batches.get(a.handlerName);
        for (const ci of a.instances) {
          try {
            const inst = ci.build(reader);
            if (!batch) {
              batch = { action: a, instances: [], custom: [] };
              batches.set(a.handlerName, batch);
            }
            if (ci.custom) batch.custom.push(inst as TemplateInstance);
            else batch.instances.push(inst as ReportInstance);
            count++;
          } catch (e) {
            if (!(e instanceof InstanceError)) throw e;
            if (instanceErrors.length < 10) instanceErrors.push(e.message);
          }
        }
      }
    }
  }
  const failures: { handler: string; error: string }[] = [];
  const calls: { handler: string; adapter: string; ms: number; ok: boolean }[] = [];
  await Promise.all(
    [...batches.values()].map(async ({ action, instances, custom }) => {
      const t0 = performance.now();
      let ok = false;
      try {
        const h = action.handler;
        if (instances.length > 0) await h.report?.(instances);
        if (custom.length > 0) await h.reportCustom?.(custom);
        ok = true;
      } catch (e) {
        failures.push({ handler: action.handlerName, error: errorMessage(e) });
      } finally {
        calls.push({
          handler: action.handlerName,
          adapter: action.adapter,
          ms: performance.now() - t0,
          ok,
        });
      }
    }),
  );
  return { instances: count, instanceErrors, failures, calls };
}

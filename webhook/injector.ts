/**
 * The injection AdmissionHandler: the engine behind the webhook. Sources (config, namespace labels,
 * cluster version) are functions so the handler needs no knowledge of files or informers. An
 * object that cannot be injected (a bad annotation) is refused with a message naming what was
 * wrong; any other error follows the configured failure mode, never silently. Every answer is
 * counted (sidecar_injection_* metrics, metrics.ts) and logged here: the server only transports.
 */
import { ErrorCode, errorMessage, isIstioLiteError } from '../lib/errors.ts';
import type { KubeVersion } from '../lib/kube-version.ts';
import type { Logger } from '../lib/log.ts';
import type { MeshConfig } from '../lib/mesh-config.ts';
import type { AdmissionHandler } from './admission-handler.ts';
import type { AdmissionOutcome, AdmissionRequest } from './admission-review.ts';
import { AnswerMemo, type MemoInputs } from './answer-memo.ts';
import type { InjectorConfig } from './config.ts';
import { injectObject } from './engine.ts';
import type { InjectionReport, WebhookMetrics } from './metrics.ts';
import { createPatch } from './patch.ts';

export const FailureMode = ['deny', 'allow'] as const;
export type FailureMode = (typeof FailureMode)[number];

export interface InjectorSources {
  readonly config: () => InjectorConfig;
  readonly mesh: () => MeshConfig;
  /** The namespace's labels (from the informer cache, read through on a miss). */
  readonly namespaceLabels: (namespace: string) => Promise<Readonly<Record<string, string>>>;
  readonly kubernetesVersion: () => KubeVersion | undefined;
  /** What an unexpected error does to the pod: refuse it, or admit it uninjected. */
  readonly failureMode: FailureMode;
}

interface Answer {
  readonly outcome: AdmissionOutcome;
  readonly report: InjectionReport;
}

/** The `result` log field: inject, skip, not-a-pod or error. */
function result(report: InjectionReport): string {
  if (report.kind !== 'decision') return report.kind;
  return report.decision.inject ? 'inject' : 'skip';
}

export function createInjector(
  sources: InjectorSources,
  metrics: WebhookMetrics,
): AdmissionHandler {
  const memo = new AnswerMemo<Answer>();
  return {
    async admit(req, { log, receivedAt }) {
      const { outcome, report } = await decide(sources, memo, req, log);
      const seconds = Number(process.hrtime.bigint() - receivedAt) / 1e9;
      metrics.record(report, seconds);
      log.info(
        {
          uid: req.uid,
          namespace: req.namespace,
          name: req.name,
          result: result(report),
          reason: report.kind === 'decision' ? report.decision.reason : undefined,
          allowed: outcome.allowed,
          ms: Math.round(seconds * 1e5) / 100,
        },
        'admission',
      );
      return outcome;
    },
    rejected({ seconds }) {
      metrics.record({ kind: 'bad-request' }, seconds);
    },
  };
}

/** The answer to one request and what it is counted as. */
async function decide(
  sources: InjectorSources,
  memo: AnswerMemo<Answer>,
  req: AdmissionRequest,
  log: Logger,
): Promise<Answer> {
  if (req.kind.kind !== 'Pod' || req.kind.group !== '') {
    return {
      outcome: { allowed: true, patch: [], warnings: [] },
      report: { kind: 'not-a-pod' },
    };
  }
  try {
    const context = {
      config: sources.config(),
      mesh: sources.mesh(),
      namespaceLabels: await sources.namespaceLabels(req.namespace),
      namespace: req.namespace,
      kubernetesVersion: sources.kubernetesVersion(),
    };
    const inputs: MemoInputs = { ...context, object: req.object };
    const key = memo.key(inputs);
    const known = memo.get(key, inputs);
    if (known !== undefined) return known;
    const result = injectObject(req.object, context);
    const pod = result.pods[0];
    if (pod === undefined) throw new Error('the engine found no pod in a Pod');
    const patch = createPatch(req.object, result.object);
    const answer: Answer = {
      outcome: { allowed: true, patch, warnings: pod.warnings },
      report: { kind: 'decision', decision: pod.decision },
    };
    memo.set(key, inputs, answer);
    return answer;
  } catch (e) {
    const message = errorMessage(e);
    if (isIstioLiteError(e) && e.code === ErrorCode.InvalidObject) {
      return {
        outcome: {
          allowed: false,
          code: 400,
          message: `istio-lite sidecar injection: ${message}`,
          warnings: [],
        },
        report: { kind: 'error', code: e.code, message },
      };
    }
    log.error(
      { err: e, uid: req.uid, namespace: req.namespace, name: req.name },
      'injection failed',
    );
    const code = isIstioLiteError(e) ? e.code : ErrorCode.Internal;
    const report: InjectionReport = { kind: 'error', code, message };
    if (sources.failureMode === 'allow') {
      return {
        outcome: {
          allowed: true,
          patch: [],
          warnings: [`istio-lite: sidecar not injected after an internal error: ${message}`],
        },
        report,
      };
    }
    return {
      outcome: {
        allowed: false,
        code: 500,
        message: `istio-lite sidecar injection failed (failure mode deny): ${message}`,
        warnings: [],
      },
      report,
    };
  }
}

/**
 * The two services Envoy calls on the agent's MIXER socket:
 * - ext_authz (`envoy.service.auth.v3.Authorization/Check`): the request's attributes
 *   (lib/mixer/envoy-attributes.ts) go to the Checker; OK allows, anything else denies, and the
 *   HTTP filter gets a response whose status says why (403, 429 for quota, 401, 503). With a
 *   tracer, each check is a SERVER span continuing the request's trace (trace-context.ts), its
 *   call to Mixer a child span whose context Mixer continues.
 * - ALS (`envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs`): every HTTP and TCP
 *   entry becomes an attribute set for the ReportBatcher.
 * Both say who reports (./reporter.ts: the pod, and at a gateway the gateway as the source).
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { errorMessage } from '../../lib/errors.ts';
import type { AuthzAttributes } from '../../lib/mixer/authz-wire.ts';
import { FramedResponse, type H2Handler } from '../../lib/grpc/h2-server.ts';
import type { H2Call } from '../../lib/grpc/h2-call.ts';
import type { Value } from '../../lib/mixer/value.ts';
import type { Logger } from '../../lib/log.ts';
import type { SpanHandle, Tracer } from '../../lib/tracing/types.ts';
import type { Checker } from './checker.ts';
import { decodeAlsMessage, encodeAuthzResponse, type AuthzDecision } from './envoy-wire.ts';
import type { ReportBatcher } from './report-batcher.ts';
import type { Reporter } from './reporter.ts';
import { checkTraceParent } from './trace-context.ts';

const codeNames: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(grpcStatus)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([k, v]) => [v, k]),
);

const httpStatusOf: ReadonlyMap<number, number> = new Map([
  [grpcStatus.UNAUTHENTICATED, 401],
  [grpcStatus.RESOURCE_EXHAUSTED, 429],
  [grpcStatus.UNAVAILABLE, 503],
  [grpcStatus.INVALID_ARGUMENT, 400],
  [grpcStatus.INTERNAL, 500],
]);

/** A check status as Envoy's answer; the body reads `CODE:message`, as Istio printed it. */
export function authzDecision(code: number, message: string): AuthzDecision {
  if (code === 0) return { code, message };
  return {
    code,
    message,
    denied: {
      httpStatus: httpStatusOf.get(code) ?? 403,
      body: `${codeNames[code] ?? String(code)}:${message}`,
    },
  };
}

/**
 * Encoded answers by decision: a few distinct ones (OK, each rule's denial) answer every check,
 * so each is encoded and framed once, and sent as it is (FramedResponse). Bounded: cleared when it
 * grows past 1,024 (a message per request). OK is kept apart: no key is made for it.
 */
const encoded = new Map<string, FramedResponse>();
const okAnswers = {
  http: new FramedResponse(encodeAuthzResponse(authzDecision(0, ''), true)),
  tcp: new FramedResponse(encodeAuthzResponse(authzDecision(0, ''), false)),
};

function answerBytes(code: number, message: string, http: boolean): FramedResponse {
  if (code === 0 && message === '') return http ? okAnswers.http : okAnswers.tcp;
  const key = `${http ? 'h' : 'n'}${String(code)}:${message}`;
  let answer = encoded.get(key);
  if (answer === undefined) {
    if (encoded.size >= 1024) encoded.clear();
    answer = new FramedResponse(encodeAuthzResponse(authzDecision(code, message), http));
    encoded.set(key, answer);
  }
  return answer;
}

/** A rejection the h2 server sends as this status. */
function failure(code: number, details: string): Error & { code: number; details: string } {
  return Object.assign(new Error(details), { code, details });
}

const authzCheck = 'envoy.service.auth.v3.Authorization/Check';

/** A check's SERVER span, continuing the trace its call or its request carries. */
function started(tracer: Tracer, call: H2Call, bag: ReadonlyMap<string, Value>): SpanHandle {
  return tracer.start(authzCheck, 'server', checkTraceParent(call.header, bag));
}

/** Ends a check's span, with where its decision came from when it is sampled. */
function ended(span: SpanHandle, source: string, code: number): void {
  if (span.sampled) {
    span.setAttribute('istio.check.source', source);
    span.setAttribute('istio.check.code', code);
  }
  span.end();
}

export function authzHandlers(
  checker: Checker,
  reporter: Reporter,
  logger: Logger,
  tracer?: Tracer,
): Record<string, H2Handler> {
  return {
    Check: {
      unary: (bytes, call) => {
        let checked: AuthzAttributes;
        try {
          checked = reporter.fromAuthz(bytes as Buffer);
        } catch (e) {
          throw failure(grpcStatus.INVALID_ARGUMENT, `CheckRequest: ${errorMessage(e)}`);
        }
        const { bag, http } = checked;
        // A hit is answered at once, traced or not: no Mixer call to carry the context to, and
        // a sampled check still gets its span.
        const hit = checker.cached(bag);
        if (hit !== undefined) {
          if (tracer !== undefined) ended(started(tracer, call, bag), 'cache', hit.code);
          return answerBytes(hit.code, hit.message, http);
        }
        const span = tracer === undefined ? undefined : started(tracer, call, bag);
        return checker.check(bag, span).then(
          (d) => {
            if (span !== undefined) ended(span, d.source, d.code);
            return answerBytes(d.code, d.message, http);
          },
          (e: unknown) => {
            span?.end(e);
            logger.error({ err: e }, 'ext_authz check failed');
            throw failure(grpcStatus.INTERNAL, errorMessage(e));
          },
        );
      },
    },
  };
}

export function alsHandlers(
  batcher: ReportBatcher,
  reporter: Reporter,
  logger: Logger,
): Record<string, H2Handler> {
  return {
    StreamAccessLogs: {
      clientStream: () => ({
        message: (b) => {
          try {
            const m = decodeAlsMessage(b as Buffer);
            for (const e of m.http) batcher.add(reporter.fromHttpLog(e));
            for (const e of m.tcp) batcher.add(reporter.fromTcpLog(e));
          } catch (e) {
            logger.warn({ error: errorMessage(e) }, 'unreadable access log message dropped');
          }
        },
        end: () => new Uint8Array(),
      }),
    },
  };
}

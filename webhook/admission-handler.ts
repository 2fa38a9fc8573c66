/**
 * The contract between the webhook's transport (server.ts) and whatever answers admissions: the
 * server parses the AdmissionReview (admission-review.ts), hands the request to `admit` and sends
 * back the outcome it resolves to. A rejected promise is answered as a failed admission (500);
 * a handler that wants another answer for its errors returns it. The server knows nothing of what
 * the handler decides or why: metrics and logs of a decision are the handler's.
 */
import type { Logger } from '../lib/log.ts';
import type { AdmissionOutcome, AdmissionRequest } from './admission-review.ts';

export interface AdmissionContext {
  /**
   * The server's logger. It carries no per-request fields (a child logger per request cost more
   * than the rest of a remembered answer): a handler names the request's uid, namespace and name
   * in the lines it writes.
   */
  readonly log: Logger;
  /** `process.hrtime.bigint()` when the request arrived (before its body was read). */
  readonly receivedAt: bigint;
}

/** A request the server answered itself with a 4xx before any handler saw it (a bad body). */
export interface RejectedRequest {
  readonly status: number;
  readonly message: string;
  /** From arrival to the answer. */
  readonly seconds: number;
}

export interface AdmissionHandler {
  /** Answers one parsed admission request. */
  admit(request: AdmissionRequest, context: AdmissionContext): Promise<AdmissionOutcome>;
  /** Told of each request the server refused as bad input (for the handler's own counters). */
  rejected?(rejection: RejectedRequest): void;
}

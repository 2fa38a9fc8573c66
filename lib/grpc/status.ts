/**
 * The one place errors become gRPC statuses, for every gRPC server of the project (Mixer, the CA,
 * Pilot's ADS, the agent's SDS): refusals by their IstioLiteError code (INVALID_ARGUMENT for a
 * bad or undecodable request, UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE) with their message;
 * anything unexpected (a plain Error, an internal code) is INTERNAL with the server's generic
 * message, and its detail goes to the log, not to the caller.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, isIstioLiteError } from '../errors.ts';
import type { Logger } from '../log.ts';

export function grpcCodeFor(code: ErrorCode): status {
  switch (code) {
    case ErrorCode.InvalidRequest:
    case ErrorCode.InvalidInput:
    case ErrorCode.InvalidObject:
      return status.INVALID_ARGUMENT;
    case ErrorCode.Unauthenticated:
      return status.UNAUTHENTICATED;
    case ErrorCode.PermissionDenied:
      return status.PERMISSION_DENIED;
    case ErrorCode.External:
      return status.UNAVAILABLE;
    case ErrorCode.InvalidConfig:
    case ErrorCode.Usage:
    case ErrorCode.Internal:
      return status.INTERNAL;
  }
}

export interface GrpcFailure {
  readonly code: status;
  /** What the caller reads: the refusal's message, or the generic message. */
  readonly details: string;
  /** True when the details hide the error: the server should log it. */
  readonly unexpected: boolean;
}

/** The status for `e`; `internalMessage` is what callers see for an unexpected error. */
export function grpcFailure(e: unknown, internalMessage: string): GrpcFailure {
  const code = isIstioLiteError(e) ? grpcCodeFor(e.code) : status.INTERNAL;
  return code === status.INTERNAL || !isIstioLiteError(e)
    ? { code, details: internalMessage, unexpected: true }
    : { code, details: e.message, unexpected: false };
}

/** `internalMessage` is what callers see for an unexpected error ("internal error in Mixer"). */
export function toServiceError(e: unknown, internalMessage: string): ServiceError {
  const { code, details } = grpcFailure(e, internalMessage);
  const err = new Error(details) as ServiceError;
  err.code = code;
  err.details = details;
  err.metadata = new Metadata();
  return err;
}

/**
 * `toServiceError`, logging an unexpected error with its detail and `fields` (which call, which
 * stream). Refusals are not logged here: the caller's mistake is the server's to log or not.
 */
export function failedCall(
  e: unknown,
  internalMessage: string,
  logger: Logger,
  fields: Readonly<Record<string, unknown>> = {},
): ServiceError {
  if (grpcFailure(e, internalMessage).unexpected)
    logger.error({ ...fields, err: e }, internalMessage);
  return toServiceError(e, internalMessage);
}

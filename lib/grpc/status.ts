/**
 * The one place errors become gRPC statuses, for every gRPC server of the project: refusals by
 * their code (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE) with their
 * message; anything unexpected is INTERNAL with the server's generic message (details go to the
 * log, not to the caller).
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, isIstioLiteError } from '../errors.ts';

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

/** `internalMessage` is what callers see for an unexpected error ("internal error in Mixer"). */
export function toServiceError(e: unknown, internalMessage: string): ServiceError {
  const code = isIstioLiteError(e) ? grpcCodeFor(e.code) : status.INTERNAL;
  const details = isIstioLiteError(e) && code !== status.INTERNAL ? e.message : internalMessage;
  const err = new Error(details) as ServiceError;
  err.code = code;
  err.details = details;
  err.metadata = new Metadata();
  return err;
}

/**
 * The one place Mixer's errors become gRPC statuses: bad requests are INVALID_ARGUMENT with their
 * message (it names the field); anything unexpected is INTERNAL with a generic message (the
 * details go to the log).
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, isIstioLiteError } from '../lib/errors.ts';

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

export function toServiceError(e: unknown): ServiceError {
  const code = isIstioLiteError(e) ? grpcCodeFor(e.code) : status.INTERNAL;
  const details =
    isIstioLiteError(e) && code !== status.INTERNAL ? e.message : 'internal error in Mixer';
  const err = new Error(details) as ServiceError;
  err.code = code;
  err.details = details;
  err.metadata = new Metadata();
  return err;
}

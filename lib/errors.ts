/**
 * Errors with a stable code. Each server maps codes to its wire status in one place
 * (AdmissionResponse, HTTP status or gRPC status); the message always names what was wrong.
 */
export const ErrorCode = {
  /** A configuration file or value is invalid (names the field). */
  InvalidConfig: 'ISTIO_LITE_ERR_INVALID_CONFIG',
  /** Input YAML or JSON could not be parsed (names the document and line). */
  InvalidInput: 'ISTIO_LITE_ERR_INVALID_INPUT',
  /** An object is well-formed but its content cannot be injected (names the field). */
  InvalidObject: 'ISTIO_LITE_ERR_INVALID_OBJECT',
  /** A command line could not be parsed (unknown flag or subcommand, missing value). */
  Usage: 'ISTIO_LITE_ERR_USAGE',
  /** A request to a server is malformed or asks for something not allowed (gRPC INVALID_ARGUMENT). */
  InvalidRequest: 'ISTIO_LITE_ERR_INVALID_REQUEST',
  /** The caller presented no credential, or one that did not verify (gRPC UNAUTHENTICATED). */
  Unauthenticated: 'ISTIO_LITE_ERR_UNAUTHENTICATED',
  /** The caller is known but not allowed to do this (gRPC PERMISSION_DENIED). */
  PermissionDenied: 'ISTIO_LITE_ERR_PERMISSION_DENIED',
  /** Something outside the project failed (a binary, a file, the API server). */
  External: 'ISTIO_LITE_ERR_EXTERNAL',
  /** A bug: a condition the code assumed could not happen. */
  Internal: 'ISTIO_LITE_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class IstioLiteError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IstioLiteError';
    this.code = code;
  }
}

export function isIstioLiteError(e: unknown): e is IstioLiteError {
  return e instanceof IstioLiteError;
}

/** The message of anything thrown, for logs and responses. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

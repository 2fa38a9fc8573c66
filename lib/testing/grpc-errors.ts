/**
 * For `assert.rejects`: a gRPC call failed with this status code and a message matching `message`
 * (the failure names the code it got otherwise).
 */
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';

export function grpcError(code: status, message: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    const err = e as ServiceError;
    assert.equal(
      err.code,
      code,
      `expected ${status[code]}, got ${String(err.code)}: ${err.details}`,
    );
    assert.match(err.details, message);
    return true;
  };
}

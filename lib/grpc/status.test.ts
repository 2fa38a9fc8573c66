import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { failedCall, grpcFailure, toServiceError } from './status.ts';

describe('gRPC status mapping (lib/grpc/status.ts)', () => {
  const internal = 'internal error in the test server';

  it('gives a refusal its code and its message', () => {
    for (const [code, want] of [
      [ErrorCode.InvalidRequest, status.INVALID_ARGUMENT],
      [ErrorCode.InvalidInput, status.INVALID_ARGUMENT],
      [ErrorCode.InvalidObject, status.INVALID_ARGUMENT],
      [ErrorCode.Unauthenticated, status.UNAUTHENTICATED],
      [ErrorCode.PermissionDenied, status.PERMISSION_DENIED],
      [ErrorCode.External, status.UNAVAILABLE],
    ] as const) {
      const e = toServiceError(new IstioLiteError(code, `what was wrong (${code})`), internal);
      assert.equal(e.code, want, code);
      assert.equal(e.details, `what was wrong (${code})`);
    }
  });

  it('hides anything unexpected behind the generic message', () => {
    for (const e of [
      new Error('secret detail: /etc/key.pem'),
      new IstioLiteError(ErrorCode.Internal, 'secret detail'),
      'thrown string',
    ]) {
      const f = grpcFailure(e, internal);
      assert.deepEqual(f, { code: status.INTERNAL, details: internal, unexpected: true });
    }
  });

  it('logs an unexpected error with its detail, and not a refusal', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('status-test', { destination });
    const refused = failedCall(
      new IstioLiteError(ErrorCode.InvalidRequest, 'bad request'),
      internal,
      logger,
    );
    assert.equal(refused.code, status.INVALID_ARGUMENT);
    assert.equal(lines.length, 0);
    const failed = failedCall(new Error('the detail'), internal, logger, { stream: 7 });
    assert.equal(failed.details, internal);
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0] ?? '{}') as { stream: number; err: { message: string } };
    assert.equal(line.stream, 7);
    assert.equal(line.err.message, 'the detail');
  });
});

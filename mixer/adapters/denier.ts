/**
 * `denier`: answers every check with its configured status (default PERMISSION_DENIED). Spec:
 * `status {code, message}`, `validDuration` (default 10s), `validUseCount` (default 200).
 */
import { Code, type Adapter, type CheckResult } from '../adapter.ts';

export const denier: Adapter = {
  name: 'denier',
  description: 'Rejects checks with a configured status code and message.',
  templates: ['checknothing', 'listentry'],
  create(spec) {
    const status = spec.object('status');
    const code = status.integer('code', Code.PERMISSION_DENIED, 0, 16);
    const message = status.string('message', 'denied');
    status.raw('details');
    status.done();
    const result: CheckResult = {
      status: { code, message },
      validDurationMs: spec.duration('validDuration', 10_000),
      validUseCount: spec.integer('validUseCount', 200, 0, 2 ** 31 - 1),
    };
    spec.done();
    return { check: () => result };
  },
};

import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JsonValue } from '../lib/json.ts';
import {
  admissionResponse,
  admissionResponseText,
  type AdmissionOutcome,
} from './admission-review.ts';
import type { Operation } from './patch.ts';

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), path: fc.string(), value: fc.jsonValue() }),
  fc.record({ op: fc.constant('replace' as const), path: fc.string(), value: fc.jsonValue() }),
  fc.record({ op: fc.constant('remove' as const), path: fc.string() }),
) as fc.Arbitrary<Operation>;

const outcome: fc.Arbitrary<AdmissionOutcome> = fc.oneof(
  fc.record({
    allowed: fc.constant(true as const),
    patch: fc.array(operation, { maxLength: 4 }),
    warnings: fc.array(fc.string(), { maxLength: 2 }),
  }),
  fc.record({
    allowed: fc.constant(false as const),
    code: fc.constantFrom(400, 500),
    message: fc.string(),
    warnings: fc.array(fc.string(), { maxLength: 2 }),
  }),
);

describe('admissionResponseText', () => {
  it('is the text of admissionResponse for any uid and outcome', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), outcome, (uid, o) => {
        assert.equal(admissionResponseText(uid, o), JSON.stringify(admissionResponse(uid, o)));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes a patch with quotes, non-ASCII text and warnings as JSON would', () => {
    const value: JsonValue = { 'a"b': 'é ✓ \u2028', n: [1, null] };
    const o: AdmissionOutcome = {
      allowed: true,
      patch: [{ op: 'add', path: '/metadata/annotations/x~1y', value }],
      warnings: ['w "1"'],
    };
    const text = admissionResponseText('u"1', o);
    assert.equal(text, JSON.stringify(admissionResponse('u"1', o)));
    assert.match(text, /"patchType":"JSONPatch","warnings":\["w \\"1\\""\]\}\}$/);
  });
});

import assert from 'node:assert/strict';
import { encodeCheckResponse, type CheckAnswer } from './check-response-wire.ts';
import { mixerService } from './protos.ts';
import { decodeReferenced, encodeReferenced, type AttributeRef } from './referenced.ts';
import { Duration } from './value.ts';
import { Condition } from './wire.ts';

function checkMethod() {
  const m = mixerService()['Check'];
  if (m === undefined) throw new Error('no Check');
  return m;
}
const check = checkMethod();
const decode = (b: Uint8Array): unknown => check.responseDeserialize(Buffer.from(b));

/** What Mixer answered before: a message object encoded by protobufjs. */
function reference(a: CheckAnswer): Uint8Array {
  const referenced = encodeReferenced(a.referenced);
  const quotas: Record<string, unknown> = {};
  for (const [name, q] of a.quotas) {
    quotas[name] = {
      valid_duration: new Duration(q.validDurationMs).toProto(),
      granted_amount: q.granted,
      referenced_attributes: referenced,
    };
  }
  return check.responseSerialize({
    precondition: {
      status: a.status,
      valid_duration: new Duration(a.validDurationMs).toProto(),
      valid_use_count: a.validUseCount,
      referenced_attributes: referenced,
    },
    quotas,
  });
}

const refs: AttributeRef[] = [
  { name: 'destination.labels', condition: Condition.ABSENCE },
  { name: 'source.uid', condition: Condition.EXACT },
  { name: 'request.headers', mapKey: 'x-user', condition: Condition.EXACT },
  { name: 'request.headers', mapKey: ':path', condition: Condition.ABSENCE },
  // Neither is in the global dictionary: message words, negative indices.
  { name: 'custom.attribute', condition: Condition.EXACT },
  { name: 'source.labels', mapKey: 'team-only-label', condition: Condition.EXACT },
  // Global word 0 as a map key: map_key 0 would mean the whole map, so it is a message word.
  { name: 'request.headers', mapKey: 'source.ip', condition: Condition.EXACT },
];

const answers: [string, CheckAnswer][] = [
  [
    'allowed, a quota, references of every kind',
    {
      status: { code: 0, message: '' },
      validDurationMs: 300_000,
      validUseCount: 10_000,
      referenced: refs,
      quotas: new Map([['requestcount', { validDurationMs: 10_000, granted: 1 }]]),
    },
  ],
  [
    'denied with a message, no references, no quotas, zero duration and uses',
    {
      status: { code: 7, message: 'denied by handler denyall.istio-system: not allowed ü' },
      validDurationMs: 0,
      validUseCount: 0,
      referenced: [],
      quotas: new Map(),
    },
  ],
  [
    'fractional durations, two quotas (one granted nothing), a large grant',
    {
      status: { code: 8, message: 'quota exhausted' },
      validDurationMs: 1234.5,
      validUseCount: 1,
      referenced: refs.slice(0, 3),
      quotas: new Map([
        ['a', { validDurationMs: 0.25, granted: 0 }],
        ['b', { validDurationMs: 5000, granted: 2 ** 40 }],
      ]),
    },
  ],
  [
    'references past 127 bytes (lengths of two bytes), copied into two quotas',
    {
      status: { code: 0, message: '' },
      validDurationMs: 60_000,
      validUseCount: 5,
      referenced: Array.from({ length: 40 }, (_, i) => ({
        name: 'request.headers',
        mapKey: `x-custom-header-${String(i)}`,
        condition: i % 2 === 0 ? Condition.EXACT : Condition.ABSENCE,
      })),
      quotas: new Map([
        ['first', { validDurationMs: 1000, granted: 3 }],
        ['second', { validDurationMs: 2000, granted: 4 }],
      ]),
    },
  ],
];

describe('encodeCheckResponse', () => {
  for (const [name, a] of answers) {
    it(`decodes as protobufjs's encoding of the same answer: ${name}`, () => {
      assert.deepEqual(decode(encodeCheckResponse(a)), decode(reference(a)));
    });
  }

  it('gives the precondition and every quota the same references, which decode back', () => {
    const a = answers[3]?.[1];
    assert.ok(a);
    const msg = decode(encodeCheckResponse(a)) as {
      precondition: { referenced_attributes: Parameters<typeof decodeReferenced>[0] };
      quotas: Record<string, { referenced_attributes: unknown }>;
    };
    assert.deepEqual(decodeReferenced(msg.precondition.referenced_attributes), a.referenced);
    for (const q of Object.values(msg.quotas)) {
      assert.deepEqual(q.referenced_attributes, msg.precondition.referenced_attributes);
    }
  });

  it('starts clean after an answer whose writing threw', () => {
    const a = answers[0]?.[1];
    assert.ok(a);
    assert.throws(() => encodeCheckResponse({ ...a, validUseCount: -1.5 }), RangeError);
    assert.deepEqual(decode(encodeCheckResponse(a)), decode(reference(a)));
  });

  it('is no larger than protobufjs writes it (defaults left out)', () => {
    for (const [, a] of answers) {
      assert.ok(encodeCheckResponse(a).length <= reference(a).length);
    }
  });
});

import assert from 'node:assert/strict';
import { encodeCheckRequest } from './check-request-wire.ts';
import { compress, WordTable } from './compress.ts';
import { mixerService } from './protos.ts';
import { Duration, IpAddress, type Value } from './value.ts';

function checkMethod() {
  const m = mixerService()['Check'];
  if (m === undefined) throw new Error('no Check');
  return m;
}
const check = checkMethod();

/** What the agent sent before: compress() and protobufjs. */
function reference(
  bag: ReadonlyMap<string, Value>,
  quotas: ReadonlyMap<string, number>,
  dedup: string,
  useGlobal = true,
): Uint8Array {
  const t = new WordTable(useGlobal);
  const attributes = compress(bag, t);
  const q: Record<string, { amount: number; best_effort: boolean }> = {};
  for (const [name, amount] of quotas) q[name] = { amount, best_effort: false };
  return check.requestSerialize({
    attributes,
    global_word_count: t.globalWordCount,
    deduplication_id: dedup,
    quotas: q,
  });
}

const decode = (b: Uint8Array): unknown => check.requestDeserialize(Buffer.from(b));

const ip = IpAddress.fromBytes(new Uint8Array([10, 0, 0, 7]));
if (ip === undefined) throw new Error('no ip');

const bags: [string, Map<string, Value>][] = [
  ['empty', new Map<string, Value>()],
  [
    'every kind of value, words global and not',
    new Map<string, Value>([
      ['source.uid', 'kubernetes://productpage-1.default'],
      ['destination.service', 'reviews.default.svc.cluster.local'],
      ['request.path', '/api/v1/products/0?x=ü'],
      ['connection.mtls', true],
      ['request.size', 1234],
      ['response.code', 200],
      ['custom.ratio', 0.25],
      ['custom.negative', -17],
      ['request.time', new Date(1_700_000_000_123)],
      ['epoch', new Date(0)],
      ['response.duration', new Duration(1500.25)],
      ['zero.duration', new Duration(0)],
      ['source.ip', ip],
      ['some.bytes', new Uint8Array([0, 1, 255])],
      [
        'request.headers',
        new Map([
          [':method', 'GET'],
          ['x-request-id', 'abc-123'],
          ['user-agent', 'curl/8'],
        ]),
      ],
      ['empty.map', new Map<string, string>()],
    ]),
  ],
];

describe('encodeCheckRequest (CheckRequest bytes without intermediate messages)', () => {
  for (const [name, bag] of bags) {
    it(`decodes to what compress() and protobufjs gave: ${name}`, () => {
      const quotas = new Map([
        ['RequestCount', 1],
        ['none', 0],
      ]);
      const ours = encodeCheckRequest(bag, quotas, 'dedup-1');
      assert.deepEqual(decode(ours), decode(reference(bag, quotas, 'dedup-1')));
      const bare = encodeCheckRequest(bag, new Map(), '', new WordTable(false));
      assert.deepEqual(decode(bare), decode(reference(bag, new Map(), '', false)));
    });
  }
});

import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { compress, WordTable } from './compress.ts';
import { decompressCheck } from './decompress.ts';
import { globalIndex, globalWordCount } from './global-dictionary.ts';
import { mixerService } from './protos.ts';
import { Duration, IpAddress, type Value } from './value.ts';
import { decodeCheckRequest } from './wire-decode.ts';

const checkDef = mixerService()['Check'];
if (!checkDef) throw new Error('no Check');
const encodeCheck = (req: object): Buffer => checkDef.requestSerialize(req);

/** The attribute set protobufjs and decompress.ts make of the same bytes. */
const reference = (bytes: Buffer) => decompressCheck(checkDef.requestDeserialize(bytes));

/** The error a call throws (it must throw). */
function errorOf(fn: () => unknown): IstioLiteError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof IstioLiteError, String(e));
    assert.equal(e.code, ErrorCode.InvalidRequest);
    return e;
  }
  assert.fail('no error');
}

function sampleSet(): Map<string, Value> {
  return new Map<string, Value>([
    ['source.ip', IpAddress.parse('10.1.2.3') as IpAddress],
    ['destination.ip', IpAddress.parse('::ffff:10.9.8.7') as IpAddress],
    ['source.port', 43210],
    ['destination.service', 'ratings.default.svc.cluster.local'],
    ['source.labels', new Map([['version', 'v3']])],
    ['request.time', new Date('2017-10-04T12:34:56.789Z')],
    ['response.duration', new Duration(12.5)],
    ['connection.mtls', true],
    ['custom.score', 0.25],
    ['custom.blob', Uint8Array.from([1, 2, 3])],
  ]);
}

describe('lib/mixer wire decoder (CheckRequest bytes)', () => {
  it('gives the attributes, quota asks and deduplication id protobufjs + decompress give', () => {
    for (const useGlobal of [true, false]) {
      const bytes = encodeCheck({
        attributes: compress(sampleSet(), new WordTable(useGlobal)),
        global_word_count: useGlobal ? globalWordCount : 0,
        deduplication_id: 'dedup-1',
        quotas: { requestcount: { amount: 2, best_effort: true }, other: { amount: 1 } },
      });
      const got = decodeCheckRequest(bytes);
      assert.deepEqual(got.attributes, reference(bytes));
      assert.deepEqual(got.attributes, sampleSet());
      assert.equal(got.deduplicationId, 'dedup-1');
      assert.deepEqual(
        got.quotas,
        new Map([
          ['requestcount', { amount: 2, bestEffort: true }],
          ['other', { amount: 1, bestEffort: false }],
        ]),
      );
    }
  });

  it('agrees with protobufjs + decompress on arbitrary sets', () => {
    const entry = fc.oneof(
      fc.tuple(fc.constant('source.service'), fc.string()),
      fc.tuple(fc.constant('custom.text'), fc.string()),
      fc.tuple(fc.constant('response.code'), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
      fc.tuple(fc.constant('custom.flag'), fc.boolean()),
      fc.tuple(
        fc.constant('request.headers'),
        fc
          .dictionary(fc.string(), fc.string(), { maxKeys: 4 })
          .map((d) => new Map(Object.entries(d))),
      ),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 10 }), fc.boolean(), (pairs, g) => {
        const set = new Map<string, Value>(pairs as [string, Value][]);
        const bytes = encodeCheck({
          attributes: compress(set, new WordTable(g)),
          global_word_count: g ? globalWordCount : 0,
        });
        assert.deepEqual(decodeCheckRequest(bytes).attributes, reference(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('skips unknown fields, in the request and in quota params', () => {
    const w = () => protobuf.Writer.create();
    const params = w()
      .uint32(8)
      .int64(3)
      .uint32(((7 << 3) | 2) >>> 0)
      .string('x')
      .finish();
    const quota = w().uint32(10).string('q').uint32(18).bytes(params).finish();
    const attrs = w()
      .uint32(18)
      .bytes(
        w()
          .uint32(8)
          .sint32(globalIndex.get('request.method') ?? 0)
          .uint32(16)
          .sint32(globalIndex.get('GET') ?? 0)
          .finish(),
      )
      .finish();
    const bytes = Buffer.concat([
      w()
        .uint32(((12 << 3) | 0) >>> 0)
        .uint32(99)
        .finish(),
      w().uint32(34).bytes(quota).finish(),
      w().uint32(10).bytes(attrs).finish(),
      w().uint32(16).uint32(globalWordCount).finish(),
    ]);
    const got = decodeCheckRequest(bytes);
    assert.deepEqual(got.attributes, new Map([['request.method', 'GET']]));
    assert.deepEqual(got.quotas, new Map([['q', { amount: 3, bestEffort: false }]]));
    assert.equal(got.deduplicationId, '');
  });

  describe('refuses bad requests with the errors decompress.ts gives', () => {
    const cases: { name: string; req: object }[] = [
      { name: 'a newer global dictionary', req: { attributes: {}, global_word_count: 999 } },
      {
        name: 'a message word that does not exist',
        req: { attributes: { words: ['a'], strings: { '-1': -2 } }, global_word_count: 120 },
      },
      { name: 'a global word past the end', req: { attributes: { int64s: { '500': 1 } } } },
      {
        name: 'a global word with global_word_count 0',
        req: { attributes: { words: ['x'], strings: { '-1': 3 } }, global_word_count: 0 },
      },
      {
        name: 'an IP address of 5 bytes',
        req: {
          attributes: { bytes: { '0': Buffer.from([1, 2, 3, 4, 5]) } },
          global_word_count: 120,
        },
      },
      {
        name: 'an attribute in the wrong typed map',
        req: { attributes: { strings: { '5': 3 } }, global_word_count: 120 },
      },
      {
        name: 'a string map entry with a bad word',
        req: {
          attributes: { string_maps: { '5': { entries: { '-1': 0 } } } },
          global_word_count: 120,
        },
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const bytes = encodeCheck(c.req);
        const want = errorOf(() => reference(bytes)).message;
        assert.equal(errorOf(() => decodeCheckRequest(bytes)).message, want);
      });
    }

    it('a quota amount that is not a positive integer', () => {
      for (const amount of [0, -3]) {
        const bytes = encodeCheck({ attributes: {}, quotas: { rq: { amount } } });
        assert.match(
          errorOf(() => decodeCheckRequest(bytes)).message,
          /^quotas\[rq\]\.amount must be a positive integer$/,
        );
      }
    });

    it('bytes that are not a CheckRequest', () => {
      assert.match(
        errorOf(() => decodeCheckRequest(Buffer.from([(4 << 3) | 0, 1]))).message,
        /^quotas: wire type varint, expected length-delimited$/,
      );
      const good = encodeCheck({
        attributes: compress(sampleSet()),
        global_word_count: globalWordCount,
        quotas: { rq: { amount: 1 } },
      });
      for (let n = 0; n < good.length; n++) {
        try {
          decodeCheckRequest(good.subarray(0, n));
        } catch (e) {
          assert.ok(e instanceof IstioLiteError, `prefix ${String(n)}: ${String(e)}`);
        }
      }
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 48 }), (b) => {
          try {
            decodeCheckRequest(b);
          } catch (e) {
            assert.ok(e instanceof IstioLiteError, String(e));
          }
        }),
        { numRuns: 2000 },
      );
    });
  });
});

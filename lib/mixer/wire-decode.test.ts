import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { compressReport } from './compress.ts';
import { decompressReport } from './decompress.ts';
import { globalIndex, globalWordCount } from './global-dictionary.ts';
import { mixerService } from './protos.ts';
import { Duration, IpAddress, type Value } from './value.ts';
import { decodeReportRequest } from './wire-decode.ts';
import type { ReportRequestMessage } from './wire.ts';

const reportDef = mixerService()['Report'];
if (!reportDef) throw new Error('no Report');
const encodeReport = (req: object): Buffer => reportDef.requestSerialize(req);

/** Every set, copied as it is handed out (the decoder reuses one Map). */
function decoded(bytes: Uint8Array): Map<string, Value>[] {
  return Array.from(decodeReportRequest(bytes), (m) => new Map(m));
}

/** What protobufjs and decompress.ts make of the same bytes. */
function reference(bytes: Buffer): Map<string, Value>[] {
  return decompressReport(reportDef?.requestDeserialize(bytes));
}

function sampleSet(i: number): Map<string, Value> {
  return new Map<string, Value>([
    ['source.ip', IpAddress.parse(`10.1.2.${String(i % 250)}`) as IpAddress],
    ['destination.ip', IpAddress.parse('fd00::1') as IpAddress],
    ['source.port', 43210 + i],
    ['destination.service', 'ratings.default.svc.cluster.local'],
    [
      'source.labels',
      new Map([
        ['app', 'reviews'],
        ['version', `v${String((i % 3) + 1)}`],
      ]),
    ],
    ['request.headers', new Map([['x-request-id', `id-${String(i)}`]])],
    ['request.time', new Date(Date.UTC(2017, 9, 4, 12, 34, 56, i))],
    ['response.duration', new Duration(12.5 + i)],
    ['response.code', i % 5 === 0 ? 503 : 200],
    ['connection.mtls', i % 2 === 0],
    ['custom.score', 0.25 * i + 0.1],
    ['custom.negative', -5_000_000_000 - i],
    ['custom.blob', Uint8Array.from([1, 2, i % 256])],
  ]);
}

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof IstioLiteError, String(e));
    assert.equal(e.code, ErrorCode.InvalidRequest);
    assert.match(e.message, pattern);
    return true;
  });
}

/** Hand-built protobuf, for what protobufjs will not encode (unknown fields, bad framing). */
const w = {
  varint: (field: number, v: number) =>
    protobuf.Writer.create()
      .uint32((field << 3) | 0)
      .uint32(v),
  sint: (field: number, v: number) =>
    protobuf.Writer.create()
      .uint32((field << 3) | 0)
      .sint32(v),
  bytes: (field: number, b: Uint8Array) =>
    protobuf.Writer.create()
      .uint32((field << 3) | 2)
      .bytes(b),
  msg: (field: number, ...parts: protobuf.Writer[]) =>
    w.bytes(field, Buffer.concat(parts.map((p) => p.finish()))),
  cat: (...parts: protobuf.Writer[]) => Buffer.concat(parts.map((p) => p.finish())),
};

const idx = (word: string): number => {
  const i = globalIndex.get(word);
  assert.ok(i !== undefined, word);
  return i;
};

describe('lib/mixer wire decoder (ReportRequest bytes to attribute sets)', () => {
  it('gives the same sets as protobufjs + decompress for a delta-encoded batch', () => {
    const sets = Array.from({ length: 20 }, (_, i) => sampleSet(i));
    for (const useGlobal of [true, false]) {
      for (const req of compressReport(sets, useGlobal)) {
        const bytes = encodeReport(req);
        assert.deepEqual(decoded(bytes), reference(bytes));
        assert.deepEqual(decoded(bytes), sets);
        assert.equal(decodeReportRequest(bytes).length, 20);
      }
    }
  });

  it('agrees with protobufjs + decompress on arbitrary batches', () => {
    const value = fc.oneof(
      fc.tuple(fc.constant('source.service'), fc.string()),
      fc.tuple(fc.constant('custom.text'), fc.string()),
      fc.tuple(fc.constant('response.code'), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
      fc.tuple(fc.constant('custom.ratio'), fc.double({ noNaN: true, noInteger: true })),
      fc.tuple(fc.constant('connection.mtls'), fc.boolean()),
      fc.tuple(fc.constant('custom.flag'), fc.boolean()),
      fc.tuple(
        fc.constant('request.time'),
        fc.date({ min: new Date(0), max: new Date(2 ** 42), noInvalidDate: true }),
      ),
      fc.tuple(
        fc.constant('response.duration'),
        fc.integer({ min: 0, max: 10 ** 9 }).map((ms) => new Duration(ms)),
      ),
      fc.tuple(
        fc.constant('source.ip'),
        fc.ipV4().map((s) => IpAddress.parse(s) as IpAddress),
      ),
      fc.tuple(fc.constant('custom.blob'), fc.uint8Array({ maxLength: 8 })),
      fc.tuple(
        fc.constant('source.labels'),
        fc
          .dictionary(fc.string(), fc.string(), { maxKeys: 4 })
          .map((d) => new Map(Object.entries(d))),
      ),
    );
    const set = fc
      .array(value, { minLength: 1, maxLength: 12 })
      .map((pairs) => new Map<string, Value>(pairs as [string, Value][]));
    fc.assert(
      fc.property(fc.array(set, { minLength: 1, maxLength: 6 }), fc.boolean(), (sets, g) => {
        for (const req of compressReport(sets, g)) {
          const bytes = encodeReport(req);
          assert.deepEqual(decoded(bytes), reference(bytes));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('uses an entry own words over default_words, words placed anywhere in the entry', () => {
    const req = {
      attributes: [
        { strings: { '-1': -2 } },
        { words: ['request.id', 'other'], strings: { '-1': -2 } },
      ],
      default_words: ['request.path', '/a'],
      global_word_count: 0,
    };
    assert.deepEqual(decoded(encodeReport(req)), reference(encodeReport(req)));
    // The same second entry with its words after its strings.
    const bytes = w.cat(
      w.msg(1, w.msg(2, w.sint(1, -1), w.sint(2, -2))),
      w.msg(
        1,
        w.msg(2, w.sint(1, -1), w.sint(2, -2)),
        w.bytes(1, Buffer.from('request.id')),
        w.bytes(1, Buffer.from('other')),
      ),
      w.bytes(2, Buffer.from('request.path')),
      w.bytes(2, Buffer.from('/a')),
    );
    assert.deepEqual(decoded(bytes), [
      new Map([['request.path', '/a']]),
      new Map([
        ['request.path', '/a'],
        ['request.id', 'other'],
      ]),
    ]);
  });

  it('skips unknown fields at every level, and reads entries with defaults left out', () => {
    const bytes = w.cat(
      w.varint(3, globalWordCount),
      w.bytes(15, Buffer.from('unknown request field')),
      w.msg(
        1,
        w.varint(20, 7),
        w.msg(2, w.sint(1, idx('request.method')), w.sint(2, idx('GET')), w.varint(3, 1)),
        w.msg(3, w.sint(1, idx('response.code')), w.varint(2, 404), w.bytes(9, Buffer.from('x'))),
        // Timestamp with an unknown field; a Duration entry without its value (zero).
        w.msg(6, w.sint(1, idx('request.time')), w.msg(2, w.varint(1, 1), w.varint(7, 1))),
        w.msg(7, w.sint(1, idx('response.duration'))),
        w.msg(
          9,
          w.sint(1, idx('source.labels')),
          w.msg(2, w.msg(1, w.sint(1, -1), w.sint(2, -2), w.varint(5, 0)), w.varint(4, 4)),
        ),
        w.bytes(1, Buffer.from('app')),
        w.bytes(1, Buffer.from('reviews')),
      ),
    );
    assert.deepEqual(decoded(bytes), [
      new Map<string, Value>([
        ['request.method', 'GET'],
        ['response.code', 404],
        ['request.time', new Date(1000)],
        ['response.duration', new Duration(0)],
        ['source.labels', new Map([['app', 'reviews']])],
      ]),
    ]);
    // (protobufjs's object form fails on a map entry without its message value.)
  });

  it('an empty request has no sets', () => {
    assert.equal(decodeReportRequest(Buffer.alloc(0)).length, 0);
    assert.deepEqual(decoded(new Uint8Array(0)), []);
  });

  describe('refuses bad requests with InvalidRequest naming the problem', () => {
    const good: ReportRequestMessage = compressReport([sampleSet(1), sampleSet(2)])[0] ?? {
      attributes: [],
      global_word_count: 0,
    };
    const cases: { name: string; bytes: () => Uint8Array; want: RegExp }[] = [
      {
        name: 'a newer global dictionary',
        bytes: () => encodeReport({ ...good, global_word_count: 999 }),
        want: /global_word_count is 999 .*has 122 words/,
      },
      {
        name: 'a message word that does not exist',
        bytes: () =>
          encodeReport({ attributes: [{}, { strings: { '-1': -7 } }], default_words: ['a'] }),
        want: /attributes\[1\]\.strings\[-1\]: word index -7 is outside the message dictionary \(1 words\)/,
      },
      {
        name: 'a global word past the end',
        bytes: () =>
          encodeReport({ attributes: [{ int64s: { '500': 1 } }], global_word_count: 120 }),
        want: /attributes\[0\]\.int64s\[500\]: word index 500 is outside the global dictionary/,
      },
      {
        name: 'an attribute in the wrong typed map',
        bytes: () =>
          encodeReport({ attributes: [{ strings: { '5': 3 } }], global_word_count: 120 }),
        want: /attributes\[0\]\.strings\[5\]: source\.labels is a STRING_MAP, sent in string_maps, not strings/,
      },
      {
        name: 'an IP address of 5 bytes',
        bytes: () =>
          encodeReport({
            attributes: [{ bytes: { '0': Buffer.from([1, 2, 3, 4, 5]) } }],
            global_word_count: 120,
          }),
        want: /attributes\[0\]\.bytes\[0\]: source\.ip must be 4 or 16 bytes/,
      },
      {
        name: 'a string map entry with a bad word',
        bytes: () =>
          encodeReport({
            attributes: [{ string_maps: { '5': { entries: { '-1': 0 } } } }],
            global_word_count: 120,
          }),
        want: /attributes\[0\]\.string_maps\[5\]\.entries\[-1\]: word index -1 is outside the message/,
      },
      {
        name: 'a known field with the wrong wire type',
        bytes: () => w.cat(w.msg(1, w.varint(2, 5))),
        want: /attributes\[0\]\.strings: wire type varint, expected length-delimited/,
      },
      {
        name: 'a map value with the wrong wire type',
        bytes: () => w.cat(w.msg(1, w.msg(4, w.sint(1, 40), w.varint(2, 1)))),
        want: /attributes\[0\]\.doubles\.value: wire type varint, expected 64-bit/,
      },
      {
        name: 'a length running past the end of its message',
        bytes: () => {
          const entry = w.msg(2, w.sint(1, 3), w.sint(2, 4)).finish();
          entry[1] = 40; // the map entry claims 40 bytes; its message has 6
          return w.cat(w.bytes(1, entry));
        },
        want: /attributes\[0\]\.strings: length 40 runs past the end of its message/,
      },
      {
        name: 'a truncated request',
        bytes: () => encodeReport(good).subarray(0, 50),
        want: /attributes\[0\]: length \d+ runs past the end of its message/,
      },
      {
        name: 'an invalid wire type',
        bytes: () => Buffer.from([(9 << 3) | 7, 0]),
        want: /ReportRequest: not a valid protobuf message \(invalid wire type 7/,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        rejects(() => decodeReportRequest(c.bytes()), c.want);
      });
    }

    it('every prefix of a valid request decodes or is refused as InvalidRequest', () => {
      const bytes = encodeReport(good);
      for (let n = 0; n < bytes.length; n++) {
        try {
          decodeReportRequest(bytes.subarray(0, n));
        } catch (e) {
          assert.ok(e instanceof IstioLiteError, `prefix ${String(n)}: ${String(e)}`);
          assert.equal(e.code, ErrorCode.InvalidRequest);
        }
      }
    });

    it('random bytes decode or are refused as InvalidRequest, never anything else', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
          try {
            decodeReportRequest(b);
          } catch (e) {
            assert.ok(e instanceof IstioLiteError, String(e));
          }
        }),
        { numRuns: 2000 },
      );
    });
  });
});

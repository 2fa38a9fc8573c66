import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { compress, compressReport, WordTable } from './compress.ts';
import { decompressCheck, decompressReport, usableGlobalWords } from './decompress.ts';
import {
  globalDictionary,
  globalDictionaryVersion,
  globalIndex,
  globalWordCount,
} from './global-dictionary.ts';
import { mixerService } from './protos.ts';
import { decodeReferenced, encodeReferenced, type AttributeRef } from './referenced.ts';
import { Duration, IpAddress, formatDuration, type Value } from './value.ts';
import { vocabulary } from './vocabulary.ts';
import type { ReferencedAttributesMessage } from './wire.ts';
import { ErrorCode, IstioLiteError } from '../errors.ts';

/** Through real protobuf bytes, as a gRPC client and server would see them. */
function overWire(method: 'Check' | 'Report', msg: object): unknown {
  const def = mixerService()[method];
  assert.ok(def);
  return def.requestDeserialize(def.requestSerialize(msg));
}

function sampleSet(): Map<string, Value> {
  return new Map<string, Value>([
    ['source.ip', IpAddress.parse('10.1.2.3') as IpAddress],
    ['destination.ip', IpAddress.parse('fd00::1') as IpAddress],
    ['source.port', 43210],
    ['destination.service', 'ratings.default.svc.cluster.local'],
    [
      'source.labels',
      new Map([
        ['app', 'reviews'],
        ['version', 'v3'],
        ['team', 'books'],
      ]),
    ],
    [
      'request.headers',
      new Map([
        [':path', '/ratings/0'],
        ['x-custom', 'yes'],
      ]),
    ],
    ['request.time', new Date('2017-10-04T12:34:56.789Z')],
    ['response.duration', new Duration(12.5)],
    ['connection.mtls', true],
    ['custom.score', 0.25],
    ['custom.blob', Uint8Array.from([1, 2, 3])],
  ]);
}

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof IstioLiteError);
    assert.equal(e.code, ErrorCode.InvalidRequest);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('lib/mixer attributes', () => {
  describe('global dictionary', () => {
    it('is pinned for its version (append a word: bump the version and this hash)', () => {
      const hash = createHash('sha256').update(globalDictionary.join('\n')).digest('hex');
      assert.equal(globalDictionaryVersion, 'istio-lite/2');
      assert.equal(globalWordCount, 122);
      assert.equal(hash.slice(0, 16), HASH_V2);
      // istio-lite/1 is its first 120 words, unchanged.
      const v1 = createHash('sha256')
        .update(globalDictionary.slice(0, 120).join('\n'))
        .digest('hex');
      assert.equal(v1.slice(0, 16), HASH_V1);
    });

    it('has no duplicates, holds every vocabulary name, and word 0 is no map key', () => {
      assert.equal(new Set(globalDictionary).size, globalDictionary.length);
      for (const name of vocabulary.keys()) assert.ok(globalIndex.has(name), name);
      assert.equal(globalDictionary[0], 'source.ip');
    });
  });

  describe('compression', () => {
    it('round-trips every value type through the wire', () => {
      const set = sampleSet();
      const req = { attributes: compress(set), global_word_count: globalWordCount };
      const got = decompressCheck(overWire('Check', req));
      assert.deepEqual(got, set);
    });

    it('spells vocabulary names by global index and other words once in the message', () => {
      const t = new WordTable();
      const c = compress(
        new Map<string, Value>([
          ['destination.service', 'x.y'],
          ['source.service', 'x.y'],
          ['request.method', 'GET'],
        ]),
        t,
      );
      assert.deepEqual(c.words, ['x.y']);
      assert.equal(c.strings?.[String(globalIndex.get('request.method'))], globalIndex.get('GET'));
      assert.equal(c.strings?.[String(globalIndex.get('source.service'))], -1);
    });

    it('without the global dictionary (count 0) spells every word', () => {
      const set = sampleSet();
      const t = new WordTable(false);
      const c = compress(set, t);
      assert.ok(c.words?.includes('source.ip'));
      assert.deepEqual(decompressCheck(overWire('Check', { attributes: c })), set);
    });
  });

  describe('decompression refuses bad input, naming the field', () => {
    const cases: { name: string; req: object; want: RegExp }[] = [
      {
        name: 'a newer global dictionary than this Mixer has',
        req: { attributes: {}, global_word_count: 999 },
        want: /global_word_count is 999 .*istio-lite\/2.* has 122 words: the client's dictionary is newer/,
      },
      {
        name: 'a message word that does not exist',
        req: { attributes: { words: ['a'], strings: { '-1': -2 } }, global_word_count: 120 },
        want: /attributes\.strings\[-1\]: word index -2 is outside the message dictionary \(1 words\)/,
      },
      {
        name: 'a global word past the end',
        req: { attributes: { int64s: { '500': 1 } }, global_word_count: 120 },
        want: /attributes\.int64s\[500\]: word index 500 is outside the global dictionary/,
      },
      {
        name: 'a global word when the client said it uses none',
        req: { attributes: { words: ['x'], strings: { '-1': 3 } }, global_word_count: 0 },
        want: /refers to the global dictionary, but global_word_count is 0/,
      },
      {
        name: 'an IP address of 5 bytes',
        req: {
          attributes: { bytes: { '0': Buffer.from([1, 2, 3, 4, 5]) } },
          global_word_count: 120,
        },
        want: /source\.ip must be 4 or 16 bytes/,
      },
      {
        name: 'a vocabulary attribute in the wrong typed map',
        req: { attributes: { strings: { '5': 3 } }, global_word_count: 120 },
        want: /attributes\.strings\[5\]: source\.labels is a STRING_MAP, sent in string_maps, not strings/,
      },
      {
        name: 'a string map entry with a bad word',
        req: {
          attributes: { string_maps: { '5': { entries: { '-1': 0 } } } },
          global_word_count: 120,
        },
        want: /attributes\.string_maps\[5\]\.entries\[-1\]: word index -1 is outside the message/,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        rejects(() => decompressCheck(overWire('Check', c.req)), c.want);
      });
    }

    it('accepts its own count, an older prefix and 0; refuses a newer dictionary', () => {
      assert.equal(usableGlobalWords(globalWordCount), globalWordCount);
      assert.equal(usableGlobalWords(120), 120, 'an istio-lite/1 client');
      assert.equal(usableGlobalWords(0), 0);
      rejects(() => usableGlobalWords(globalWordCount + 1), /client's dictionary is newer/);
      rejects(() => usableGlobalWords(-1), /is -1/);
    });

    it('an istio-lite/1 client (120 words) is understood; a word past its count is refused', () => {
      const set = sampleSet();
      const t = new WordTable();
      const c = compress(set, t);
      // sampleSet uses only words of the first 120.
      assert.deepEqual(
        decompressCheck(overWire('Check', { attributes: c, global_word_count: 120 })),
        set,
      );
      rejects(
        () =>
          decompressCheck(
            overWire('Check', { attributes: { strings: { '121': 3 } }, global_word_count: 120 }),
          ),
        /word index 121 is outside the global dictionary \(120 words\)/,
      );
    });
  });

  describe('report batches', () => {
    function batch(): Map<string, Value>[] {
      return [0, 1, 2].map((i) => {
        const s = sampleSet();
        s.set('request.id', `req-${String(i)}`);
        s.set('response.code', i === 2 ? 503 : 200);
        return s;
      });
    }

    it('delta-encodes a batch into one request that decodes to the same sets', () => {
      const sets = batch();
      const reqs = compressReport(sets);
      assert.equal(reqs.length, 1);
      const [req] = reqs;
      assert.ok(req);
      // Entries after the first carry only what changed.
      const second = req.attributes[1];
      assert.deepEqual(Object.keys(second?.strings ?? {}), [String(globalIndex.get('request.id'))]);
      assert.deepEqual(Object.keys(second?.int64s ?? {}), []);
      assert.deepEqual(decompressReport(overWire('Report', req)), sets);
    });

    it('starts a new request when an attribute disappears', () => {
      const sets = batch();
      sets[1]?.delete('custom.blob');
      const reqs = compressReport(sets);
      assert.equal(reqs.length, 2);
      const decoded = reqs.flatMap((r) => decompressReport(overWire('Report', r)));
      assert.deepEqual(decoded, sets);
    });

    it('uses an entry own words over default_words', () => {
      const req = {
        attributes: [
          { strings: { '-1': -2 } },
          { words: ['request.id', 'other'], strings: { '-1': -2 } },
        ],
        default_words: ['request.path', '/a'],
        global_word_count: 0,
      };
      const got = decompressReport(overWire('Report', req));
      assert.deepEqual(got[0], new Map([['request.path', '/a']]));
      assert.deepEqual(
        got[1],
        new Map([
          ['request.path', '/a'],
          ['request.id', 'other'],
        ]),
      );
    });
  });

  describe('referenced attributes', () => {
    it('round-trip absent names, exact names and map keys', () => {
      const refs: AttributeRef[] = [
        { name: 'source.labels', mapKey: 'app', condition: 'EXACT' },
        { name: 'source.labels', mapKey: 'not-a-global-word', condition: 'ABSENCE' },
        { name: 'request.headers', mapKey: 'source.ip', condition: 'EXACT' },
        { name: 'destination.service', condition: 'EXACT' },
        { name: 'custom.attr', condition: 'ABSENCE' },
      ];
      const msg = encodeReferenced(refs);
      // map_key 0 would mean "whole map": global word 0 used as a key goes in the message words.
      assert.ok(msg.words.includes('source.ip'));
      const def = mixerService()['Check'];
      assert.ok(def);
      const resp = def.responseDeserialize(
        def.responseSerialize({ precondition: { referenced_attributes: msg } }),
      ) as { precondition: { referenced_attributes: ReferencedAttributesMessage } };
      assert.deepEqual(decodeReferenced(resp.precondition.referenced_attributes), refs);
    });
  });

  describe('values', () => {
    const ips: { name: string; input: string; want: string | undefined }[] = [
      { name: 'IPv4', input: '10.0.0.1', want: '10.0.0.1' },
      { name: 'IPv6 compressed', input: 'fd00:0:0::1', want: 'fd00::1' },
      { name: 'IPv4-mapped IPv6 equals IPv4', input: '::ffff:192.168.1.2', want: '192.168.1.2' },
      { name: 'loopback v6', input: '::1', want: '::1' },
      { name: 'not an address', input: '10.0.0', want: undefined },
    ];
    for (const c of ips) {
      it(`ip: ${c.name}`, () => {
        assert.equal(IpAddress.parse(c.input)?.toString(), c.want);
      });
    }

    const durations: [number, string][] = [
      [0, '0s'],
      [0.5, '500µs'],
      [250, '250ms'],
      [1500, '1.5s'],
      [61_000, '1m1s'],
      [3_723_000, '1h2m3s'],
    ];
    for (const [ms, want] of durations) {
      it(`duration ${String(ms)} ms prints ${want}`, () => {
        assert.equal(formatDuration(ms), want);
        assert.deepEqual(
          Duration.fromProto(new Duration(ms).toProto().seconds, new Duration(ms).toProto().nanos),
          new Duration(ms),
        );
      });
    }
  });
});

const HASH_V1 = 'fe1bf12b87ee774c';
const HASH_V2 = '248e531875ba799d';

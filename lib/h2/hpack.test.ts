import assert from 'node:assert/strict';
import { encodeHeaders, HpackDecoder, HpackError, huffmanDecode } from './hpack.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decodeAll(d: HpackDecoder, block: Buffer): [string, string][] {
  const out: [string, string][] = [];
  d.decode(block, (n, v) => out.push([n, v]));
  return out;
}

describe('lib/h2/hpack', () => {
  it('decodes the RFC 7541 C.4 requests: static and dynamic indexes, Huffman strings', () => {
    const d = new HpackDecoder();
    assert.deepEqual(decodeAll(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    // The second request refers to :authority by its dynamic index (62).
    assert.deepEqual(decodeAll(d, hex('8286 84be 5886 a8eb 1064 9cbf')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
  });

  it('decodes every octet Huffman coded, as the canonical code from the lengths gives it', () => {
    // 'a' is 00011 (5 bits), '0' is 00000; padding is ones: 00011 00000 00011 1.
    assert.equal(huffmanDecode(Buffer.from([0b00011000, 0b00000111]), 0, 2), 'a0a');
    assert.equal(huffmanDecode(Buffer.from([0b00011000, 0b00111111]), 0, 2), 'a0');
  });

  it('evicts the oldest entries when the table is full, and honours a size update', () => {
    const d = new HpackDecoder(64);
    // Literal with incremental indexing, new name: x-a: 1 (32 + 4 bytes), then x-b: 2.
    const add = (n: string, v: string) =>
      Buffer.concat([
        Buffer.from([0x40, n.length]),
        Buffer.from(n),
        Buffer.from([v.length]),
        Buffer.from(v),
      ]);
    decodeAll(d, add('x-a', '1'));
    decodeAll(d, add('x-b', '2'));
    // Only x-b fits: index 62 is x-b, 63 is gone.
    assert.deepEqual(decodeAll(d, hex('be')), [['x-b', '2']]);
    assert.throws(() => decodeAll(d, hex('bf')), /index 63 is not in the table/);
    // A size update to 0 empties the table.
    assert.throws(() => decodeAll(new HpackDecoder(64), hex('3f 22')), /over the 64 allowed/);
    const e = new HpackDecoder(64);
    decodeAll(e, add('x-a', '1'));
    assert.throws(() => decodeAll(e, hex('20 be')), /not in the table/);
  });

  it('refuses malformed blocks with an HpackError naming the fault', () => {
    const bad: [string, RegExp][] = [
      ['80', /index 0/],
      ['ff ff ff ff ff 0f', /over 2\^31/],
      ['ff', /runs past the block/],
      ['04 05 61', /runs past the block/],
      // 'a' then padding of zeros: padding must be ones.
      ['04 81 18', /padding/],
      // 30 ones: EOS.
      ['04 84 ff ff ff ff', /EOS|padding/],
      ['82 20', /after a header field/],
    ];
    for (const [block, why] of bad) {
      assert.throws(
        () => decodeAll(new HpackDecoder(), hex(block)),
        (e: unknown) => e instanceof HpackError && why.test(e.message),
        block,
      );
    }
  });

  it('encodes what it decodes: whole static matches by index, the rest as literals', () => {
    const fields: [string, string][] = [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-status', '13'],
      ['grpc-message', 'x'.repeat(200)],
    ];
    const block = encodeHeaders(fields);
    assert.equal(block[0], 0x88);
    assert.deepEqual(decodeAll(new HpackDecoder(), block), fields);
  });
});

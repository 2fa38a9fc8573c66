import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { WireStrings } from './wire-strings.ts';

/** A buffer of length-delimited strings, as a protobuf message carries them. */
function encoded(...values: string[]): protobuf.Reader {
  const w = protobuf.Writer.create();
  for (const v of values) w.string(v);
  return protobuf.Reader.create(Buffer.from(w.finish()));
}

describe('lib/mixer/wire-strings: strings read through a table', () => {
  it('gives back the same string object for the same bytes, and the right string for others', () => {
    const t = new WireStrings();
    const values = [':authority', 'reviews:9080', ':authority', 'x-request-id', 'reviews:9080'];
    const r = encoded(...values);
    const got = values.map(() => t.read(r));
    assert.deepEqual(got, values);
    assert.equal(r.pos, r.len);
    // Kept strings are reused; the test's values are fresh strings, so compare what was read.
    const again = encoded(':authority', 'reviews:9080');
    assert.ok(Object.is(t.read(again), got[0]));
    assert.equal(t.read(again), 'reviews:9080');
  });

  it('keeps a string the second time it is read, never one read once', () => {
    const t = new WireStrings();
    const ids = Array.from({ length: 20_000 }, (_, i) => `req-${String(i).padStart(8, '0')}`);
    const r = encoded('content-type', 'content-type', ...ids, 'content-type');
    assert.equal(t.read(r), 'content-type');
    assert.equal(t.keeps('content-type'), false);
    assert.equal(t.read(r), 'content-type');
    assert.equal(t.keeps('content-type'), true);
    for (const id of ids) assert.equal(t.read(r), id);
    // Strings seen once (request ids) never enter the table, nor push out one that repeats.
    assert.equal(
      ids.some((id) => t.keeps(id)),
      false,
    );
    assert.equal(t.keeps('content-type'), true);
    assert.equal(t.read(r), 'content-type');
  });

  it('never confuses two strings that share a slot', () => {
    const t = new WireStrings();
    const many = Array.from({ length: 20_000 }, (_, i) => `key-${String(i)}`);
    const r = encoded(...many, ...many);
    for (const v of [...many, ...many]) assert.equal(t.read(r), v);
  });

  it('decodes what it does not keep: UTF-8, long strings, empty ones', () => {
    const t = new WireStrings();
    const values = ['zürich', 'ü', '日本', 'x'.repeat(200), '', 'zürich'];
    const r = encoded(...values);
    for (const v of values) assert.equal(t.read(r), v);
  });

  it('throws on a string that runs past the end', () => {
    const t = new WireStrings();
    const bytes = Buffer.from(protobuf.Writer.create().string('truncated').finish());
    assert.throws(() => t.read(protobuf.Reader.create(bytes.subarray(0, 5))), /index out of range/);
  });
});

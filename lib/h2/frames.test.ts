import assert from 'node:assert/strict';
import { frame, FrameReader, writeFrameHeader, type Frame } from './frames.ts';

const read = (bytes: Buffer): Frame[] => {
  const out: Frame[] = [];
  new FrameReader().push(bytes, (f) => out.push({ ...f, payload: Buffer.from(f.payload) }));
  return out;
};

describe('lib/h2/frames', () => {
  it('writes the header big-endian: 24-bit length, type, flags, 31-bit stream id', () => {
    const out = Buffer.alloc(9);
    writeFrameHeader(out, 0, 0x010203, 0x1, 0x4, 0x7f0a0b0c);
    assert.deepEqual([...out], [1, 2, 3, 1, 4, 0x7f, 0x0a, 0x0b, 0x0c]);
    writeFrameHeader(out, 0, 0, 0, 0, 1);
    assert.deepEqual([...out.subarray(5)], [0, 0, 0, 1]);
  });

  it('reads back every stream id up to 2^31-1, ignoring the reserved bit', () => {
    for (const id of [0, 1, 0xff, 0x1_0000, 0x100_0000, 0x4000_0000, 0x7fff_ffff]) {
      const [f] = read(frame(0x0, 0x1, id, Buffer.from('x')));
      assert.ok(f);
      assert.equal(f.streamId, id);
      assert.equal(f.payload.toString(), 'x');
    }
    const reserved = frame(0x8, 0, 5, Buffer.alloc(4));
    reserved[5] = (reserved[5] ?? 0) | 0x80; // RFC 9113 §4.1: ignored on receipt
    assert.equal(read(reserved)[0]?.streamId, 5);
  });
});

import assert from 'node:assert/strict';
import {
  decodeStatusMessage,
  encodeStatusMessage,
  frameMessage,
  MessageReader,
  parseTimeout,
} from './h2-frames.ts';

describe('lib/grpc/h2-frames', () => {
  it('frames a message with a zero flag and a big-endian length', () => {
    assert.deepEqual([...frameMessage(Buffer.from('ab'))], [0, 0, 0, 0, 2, 97, 98]);
    assert.deepEqual([...frameMessage(new Uint8Array())], [0, 0, 0, 0, 0]);
  });

  it('reassembles messages from chunks of any size, keeping the compressed flag', () => {
    const r = new MessageReader(100);
    const two = Buffer.concat([frameMessage(Buffer.from('hello')), frameMessage(Buffer.from(''))]);
    two[0] = 1;
    for (const byte of two.subarray(0, 7)) r.push(Buffer.from([byte]));
    assert.deepEqual(r.take(), []);
    assert.equal(r.partial, 7);
    r.push(two.subarray(7));
    assert.deepEqual(
      r.take().map((m) => [m.compressed, m.bytes.toString()]),
      [
        [true, 'hello'],
        [false, ''],
      ],
    );
    assert.equal(r.partial, 0);
  });

  it('refuses a length over the limit from its prefix alone', () => {
    const r = new MessageReader(10);
    assert.equal(r.push(Buffer.from([0, 0, 0, 0, 11])), false);
    assert.deepEqual(r.tooLarge, { length: 11, max: 10 });
    assert.equal(r.push(Buffer.from([1])), false);
  });

  it('reads and writes all four bytes of the length', () => {
    const framed = frameMessage(Buffer.alloc(0x01_0203));
    assert.deepEqual([...framed.subarray(0, 5)], [0, 0, 1, 2, 3]);
    const r = new MessageReader(10);
    assert.equal(r.push(Buffer.from([0, 0xff, 1, 2, 3])), false);
    assert.deepEqual(r.tooLarge, { length: 0xff01_0203, max: 10 });
    const whole = new MessageReader(0x01_0203);
    assert.equal(whole.push(framed), true);
    assert.equal(whole.take()[0]?.bytes.length, 0x01_0203);
  });

  it('reads grpc-timeout in every unit; malformed is NaN, absent undefined', () => {
    assert.equal(parseTimeout('1H'), 3_600_000);
    assert.equal(parseTimeout('2M'), 120_000);
    assert.equal(parseTimeout('3S'), 3000);
    assert.equal(parseTimeout('250m'), 250);
    assert.equal(parseTimeout('1500u'), 1.5);
    assert.equal(parseTimeout('2000000n'), 2);
    assert.equal(parseTimeout(undefined), undefined);
    for (const bad of ['', '5', 'S', '123456789S', '1.5S', '-1S', '5s']) {
      assert.ok(Number.isNaN(parseTimeout(bad)), bad);
    }
  });

  it('percent-encodes grpc-message outside printable ASCII and %, and reads it back', () => {
    assert.equal(encodeStatusMessage('plain text: ok'), 'plain text: ok');
    assert.equal(encodeStatusMessage('100% ü\n'), '100%25 %C3%BC%0A');
    assert.equal(decodeStatusMessage('100%25 %C3%BC%0A'), '100% ü\n');
    assert.equal(decodeStatusMessage('broken %zz and %4'), 'broken %zz and %4');
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { FrameReader, FrameType, type Frame } from './frames.ts';
import { Output } from './output.ts';

/** A connected pair of loopback sockets: what `a` writes, `b` reads. */
async function pair(): Promise<{ a: Socket; b: Socket; close: () => void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const a = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [b] = await accepted;
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
      server.close();
    },
  };
}

async function readFrames(b: Socket, count: number): Promise<{ frames: Frame[]; reads: number }> {
  const reader = new FrameReader(false);
  reader.maxFrameSize = 1 << 20;
  const frames: Frame[] = [];
  let reads = 0;
  while (frames.length < count) {
    const [chunk] = (await once(b, 'data')) as [Buffer];
    reads++;
    reader.push(chunk, (f) => frames.push({ ...f, payload: Buffer.from(f.payload) }));
  }
  return { frames, reads };
}

describe('lib/h2/output', () => {
  it('writes frames in order across the staging buffer, with frames larger than it, in one turn', async () => {
    const { a, b, close } = await pair();
    try {
      const out = new Output(a);
      const sizes = [0, 100, 16_384, 5, 40_000, 16_000, 1, 70_000, 3];
      const payload = (i: number, n: number) => Buffer.alloc(n, i + 1);
      const framed = Buffer.alloc(9);
      sizes.forEach((n, i) => {
        if (i === 3) {
          // Bytes already framed go through write(), in their place.
          framed.writeUIntBE(0, 0, 3);
          framed[3] = FrameType.PING;
          out.write(framed);
        }
        const src = Buffer.concat([Buffer.alloc(7, 0xee), payload(i, n)]);
        out.frame(FrameType.DATA, 0, 1 + 2 * i, n === 0 ? undefined : src, 7, n);
      });
      const { frames } = await readFrames(b, sizes.length + 1);
      const data = frames.filter((f) => f.type === FrameType.DATA);
      assert.equal(frames[3]?.type, FrameType.PING);
      assert.deepEqual(
        data.map((f) => [f.streamId, f.payload.length]),
        sizes.map((n, i) => [1 + 2 * i, n]),
      );
      data.forEach((f, i) => {
        assert.ok(f.payload.equals(payload(i, sizes[i] ?? 0)), `frame ${String(i)}'s payload`);
      });
    } finally {
      close();
    }
  });

  it('keeps two connections apart when they take turns with the staging buffer in one turn', async () => {
    const one = await pair();
    const two = await pair();
    try {
      const outs = [new Output(one.a), new Output(two.a)];
      const sizes = [10, 16_000, 3, 9_000, 0, 12_000, 70_000, 5];
      sizes.forEach((n, i) => {
        // Alternating, and twice in a row for the second connection now and then.
        const which = i % 3 === 2 ? 1 : i % 2;
        outs[which]?.frame(FrameType.DATA, 0, 1 + 2 * i, Buffer.alloc(n, i + 1), 0, n);
      });
      const expected = (which: number) =>
        sizes
          .map((n, i) => ({ n, i, which: i % 3 === 2 ? 1 : i % 2 }))
          .filter((f) => f.which === which);
      for (const [which, b] of [
        [0, one.b],
        [1, two.b],
      ] as const) {
        const want = expected(which);
        const { frames } = await readFrames(b, want.length);
        assert.deepEqual(
          frames.map((f) => f.streamId),
          want.map((f) => 1 + 2 * f.i),
        );
        frames.forEach((f, k) => {
          const w = want[k];
          assert.ok(w !== undefined && f.payload.equals(Buffer.alloc(w.n, w.i + 1)));
        });
      }
    } finally {
      one.close();
      two.close();
    }
  });

  it('reuses its staging buffer: what the socket was given is not overwritten by the next turn', async () => {
    const { a, b, close } = await pair();
    try {
      const out = new Output(a);
      const turns = 4000; // 8 MB: more than the kernel takes at once, so the socket holds some writes
      for (let t = 0; t < turns; t++) {
        out.frame(FrameType.DATA, 0, 1, Buffer.alloc(2000, t % 256), 0, 2000);
        out.flush(); // as the end of a turn, while the socket may still hold the last write
      }
      const { frames } = await readFrames(b, turns);
      frames.forEach((f, t) => {
        assert.ok(f.payload.equals(Buffer.alloc(2000, t % 256)), `turn ${String(t)}`);
      });
    } finally {
      close();
    }
  });
  it("writes what a read produced as the read ends (release), and what came after at the turn's end", async () => {
    const { a, b, close } = await pair();
    try {
      const out = new Output(a);
      const writes: number[] = [];
      const write = a.write.bind(a);
      a.write = (data: Buffer) => {
        writes.push(data.length);
        return write(data);
      };
      out.hold();
      out.frame(FrameType.PING, 0, 0, Buffer.alloc(8), 0, 8);
      out.frame(FrameType.PING, 0, 0, Buffer.alloc(8), 0, 8);
      assert.deepEqual(writes, [], 'held: nothing written yet');
      out.release();
      assert.deepEqual(writes, [34], 'both frames in one write, before release returns');
      // Queued after the read (an answer from a promise): at the turn's end, in one more write.
      out.frame(FrameType.PING, 0, 0, Buffer.alloc(8), 0, 8);
      assert.deepEqual(writes, [34]);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(writes, [34, 17]);
      // A release with nothing queued writes nothing.
      out.hold();
      out.release();
      assert.deepEqual(writes, [34, 17]);
      const { frames } = await readFrames(b, 3);
      assert.equal(frames.length, 3);
    } finally {
      close();
    }
  });
});

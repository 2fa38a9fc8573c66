import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { ScratchWriter } from './scratch-writer.ts';

type Step =
  | ['tag', number, number]
  | ['int', number]
  | ['sint32', number]
  | ['string', string]
  | ['bytes', Uint8Array]
  | ['fork', number]
  | ['ldelim'];

function ours(w: ScratchWriter, steps: readonly Step[]): Uint8Array {
  for (const s of steps) {
    if (s[0] === 'tag') w.tag(s[1], s[2]);
    else if (s[0] === 'int') w.int(s[1]);
    else if (s[0] === 'sint32') w.sint32(s[1]);
    else if (s[0] === 'string') w.string(s[1]);
    else if (s[0] === 'bytes') w.bytes(s[1]);
    else if (s[0] === 'fork') w.fork(s[1]);
    else w.ldelim();
  }
  return w.finish();
}

function protobufjs(steps: readonly Step[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const s of steps) {
    if (s[0] === 'tag') w.uint32((s[1] << 3) | s[2]);
    else if (s[0] === 'int') w.int64(s[1]);
    else if (s[0] === 'sint32') w.sint32(s[1]);
    else if (s[0] === 'string') w.string(s[1]);
    else if (s[0] === 'bytes') w.bytes(s[1]);
    else if (s[0] === 'fork') w.uint32((s[1] << 3) | 2).fork();
    else w.ldelim();
  }
  return new Uint8Array(w.finish());
}

const body = (n: number): Step[] => [['bytes', new Uint8Array(n).fill(7)]];

const cases: [string, Step[]][] = [
  [
    'small and large varints',
    [0, 1, 127, 128, 300, 2 ** 31, 2 ** 40, 2 ** 53 - 1].map((n) => ['int', n]),
  ],
  [
    'negative int32 and int64 (ten bytes)',
    [-1, -2, -300, -(2 ** 31), -(2 ** 40)].map((n) => ['int', n]),
  ],
  ['sint32 zigzag', [0, -1, 1, -64, 64, -(2 ** 31), 2 ** 31 - 1].map((n) => ['sint32', n])],
  [
    'tags of large field numbers',
    [
      ['tag', 1, 0],
      ['tag', 15, 2],
      ['tag', 16, 0],
      ['tag', 2 ** 20, 2],
    ],
  ],
  [
    'strings: empty, ASCII, multi-byte, at and past one length byte',
    [
      ['string', ''],
      ['string', 'reviews.default.svc.cluster.local'],
      ['string', 'ü€😀'],
      ['string', 'x'.repeat(42)],
      ['string', 'x'.repeat(127)],
      ['string', 'x'.repeat(128)],
      ['string', 'é'.repeat(100)],
      ['string', 'y'.repeat(20_000)],
    ],
  ],
  [
    'nested messages with one-, two- and three-byte lengths',
    [
      ['fork', 1],
      ...body(10),
      ['fork', 2],
      ...body(200),
      ['fork', 3],
      ...body(20_000),
      ['ldelim'],
      ['ldelim'],
      ['string', 'after'],
      ['ldelim'],
      ['fork', 4],
      ['ldelim'],
    ],
  ],
];

describe('ScratchWriter', () => {
  for (const [name, steps] of cases) {
    it(`writes what protobufjs writes: ${name}`, () => {
      assert.deepEqual(ours(new ScratchWriter(16), steps), protobufjs(steps));
    });
  }

  it('starts empty again after finish, and its output is a copy', () => {
    const w = new ScratchWriter();
    const first = ours(w, [['string', 'first']]);
    const second = ours(w, [['int', 5]]);
    assert.deepEqual(first, protobufjs([['string', 'first']]));
    assert.deepEqual(second, Uint8Array.of(5));
  });

  it('appends bytes it already wrote, and refuses a range outside them', () => {
    const w = new ScratchWriter(4);
    w.tag(1, 2).string('repeat me');
    w.again(0, w.length);
    assert.deepEqual(
      new Uint8Array(w.finish()),
      protobufjs([
        ['tag', 1, 2],
        ['string', 'repeat me'],
        ['tag', 1, 2],
        ['string', 'repeat me'],
      ]),
    );
    w.int(1);
    assert.throws(() => w.again(0, 2), /outside the 1 bytes written/);
  });

  it('refuses an ldelim without a fork and a finish inside one', () => {
    assert.throws(() => new ScratchWriter().ldelim(), /ldelim without fork/);
    const w = new ScratchWriter();
    w.fork(1);
    assert.throws(() => w.finish(), /finish inside a fork/);
  });
});

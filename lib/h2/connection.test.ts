/**
 * lib/h2's connection against node:http2's client (nghttp2: Huffman coding, the dynamic table,
 * CONTINUATION, padding, flow control as a real peer does them) and against raw frames for what
 * no well-behaved client sends.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as h2connect, constants, type ClientHttp2Session } from 'node:http2';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { H2Connection } from './connection.ts';
import { ErrorCode, Flag, frame, FrameReader, FrameType, PREFACE, type Frame } from './frames.ts';
import { encodeHeaders } from './hpack.ts';

/** Echoes the request: its headers as JSON in `x-headers`... and its body back. */
function echoServer(): Server {
  return createServer((socket) => {
    new H2Connection(socket, {
      maxConcurrentStreams: 100,
      maxHeaderListSize: 1 << 20,
      onStream: (stream) => {
        const parts: Buffer[] = [];
        stream.listener = {
          data: (chunk) => parts.push(Buffer.from(chunk)),
          end: () => {
            const body = Buffer.concat(parts);
            const headers = JSON.stringify(stream.headers);
            stream.respond(encodeHeaders([[':status', '200']]));
            stream.end(Buffer.concat([Buffer.from(`${String(headers.length)}\n${headers}`), body]));
          },
          close: () => undefined,
        };
      },
    });
  });
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function request(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  const req = session.request({ ':method': 'POST', ':path': '/echo', ...headers });
  req.end(body);
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  await once(req, 'end');
  const all = Buffer.concat(parts);
  const nl = all.indexOf(10);
  const length = Number(all.subarray(0, nl).toString());
  return {
    headers: JSON.parse(all.subarray(nl + 1, nl + 1 + length).toString('latin1')) as Record<
      string,
      unknown
    >,
    body: all.subarray(nl + 1 + length),
  };
}

describe('lib/h2/connection: node:http2 as the client', () => {
  let server: Server;
  let session: ClientHttp2Session;
  beforeEach(async () => {
    server = echoServer();
    const port = await listen(server);
    session = h2connect(`http://127.0.0.1:${String(port)}`, {
      paddingStrategy: constants.PADDING_STRATEGY_MAX,
      // node:http2 refuses to send a header block over 64 KiB (compressed) by default.
      maxSendHeaderBlockLength: 1 << 20,
    });
  });
  afterEach(() => {
    session.destroy();
    server.close();
  });

  it('reads every printable octet in names and values, indexed the second time, padded', async () => {
    const value = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
    for (let i = 0; i < 2; i++) {
      const r = await request(session, { 'x-all': value, 'x-n': String(i) }, Buffer.from('hi'));
      assert.equal(r.headers['x-all'], value);
      assert.equal(r.headers['x-n'], String(i));
      assert.equal(r.headers[':path'], '/echo');
      assert.equal(r.body.toString(), 'hi');
    }
  });

  it('reads a header block over CONTINUATION frames (40 KB of headers)', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 40; i++) headers[`x-h${String(i)}`] = String(i).repeat(1000);
    const r = await request(session, headers, Buffer.alloc(0));
    assert.equal(r.headers['x-h39'], '39'.repeat(1000));
  });

  it('moves 5 MB each way through both flow-control windows', async () => {
    const big = Buffer.alloc(5 << 20, 7);
    big[big.length - 1] = 9;
    const r = await request(session, {}, big);
    assert.equal(r.body.length, big.length);
    assert.ok(r.body.equals(big));
  });

  it('serves 100 concurrent streams on one connection', async () => {
    const rs = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(session, { 'x-i': String(i) }, Buffer.from(String(i))),
      ),
    );
    rs.forEach((r, i) => {
      assert.equal(r.body.toString(), String(i));
    });
  });
});

/** A raw client: the preface and SETTINGS, then `frames`; resolves to what the server sent. */
async function raw(port: number, frames: Buffer[], preface = PREFACE): Promise<Frame[]> {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(Buffer.concat([preface, frame(FrameType.SETTINGS, 0, 0), ...frames]));
  const got: Frame[] = [];
  const reader = new FrameReader();
  reader.maxFrameSize = 1 << 24;
  socket.on('data', (c: Buffer) => {
    reader.push(c, (f) => got.push({ ...f, payload: Buffer.from(f.payload) }));
  });
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 1000))]);
  socket.destroy();
  return got;
}

function goAwayOf(frames: Frame[]): { code: number; debug: string } | undefined {
  const g = frames.find((f) => f.type === FrameType.GOAWAY);
  return g && { code: g.payload.readUInt32BE(4), debug: g.payload.subarray(8).toString() };
}

describe('lib/h2/connection: when answers are written', () => {
  it('writes the answers a read made ready before the read callback returns (no turn of their own)', async () => {
    let seen: { during: number; after: number } | undefined;
    const server = createServer((socket) => {
      const writes: Buffer[] = [];
      const write = socket.write.bind(socket);
      socket.write = (data: Buffer) => {
        writes.push(data);
        return write(data);
      };
      new H2Connection(socket, {
        maxConcurrentStreams: 100,
        maxHeaderListSize: 1 << 20,
        onStream: (stream) => {
          stream.listener = {
            data: () => undefined,
            end: () => {
              stream.respond(encodeHeaders([[':status', '200']]));
              stream.end(Buffer.from('at once'));
            },
            close: () => undefined,
          };
        },
      });
      // Around the connection's own 'data' listener: writes before it, and right after it.
      socket.prependListener('data', () => {
        writes.length = 0;
      });
      socket.on('data', () => {
        const answered = writes.some((w) => w.includes('at once'));
        seen ??= answered ? { during: writes.length, after: 0 } : undefined;
      });
    });
    const port = await listen(server);
    const session = h2connect(`http://127.0.0.1:${String(port)}`);
    try {
      const req = session.request({ ':method': 'POST', ':path': '/' });
      req.end('x');
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      await once(req, 'end');
      assert.equal(Buffer.concat(parts).toString(), 'at once');
      assert.ok(seen, 'the answer was written before the read callback returned');
      assert.equal(seen.during, 1, 'in one write');
    } finally {
      session.close();
      server.close();
    }
  });
});

describe('lib/h2/connection: what no good client sends', () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = echoServer();
    port = await listen(server);
  });
  after(() => server.close());

  const headers = (id: number, block: Buffer, flags = Flag.END_HEADERS | Flag.END_STREAM) =>
    frame(FrameType.HEADERS, flags, id, block);
  const get = encodeHeaders([
    [':method', 'GET'],
    [':path', '/'],
    [':scheme', 'http'],
  ]);

  it('answers PING with the same payload, and a request on stream 1', async () => {
    const got = await raw(port, [
      frame(FrameType.PING, 0, 0, Buffer.from('12345678')),
      headers(1, get),
    ]);
    const ping = got.find((f) => f.type === FrameType.PING);
    assert.equal(ping?.flags, Flag.ACK);
    assert.equal(ping.payload.toString(), '12345678');
    assert.ok(got.some((f) => f.type === FrameType.DATA && f.streamId === 1));
  });

  const cases: [string, Buffer[], number, RegExp][] = [
    [
      'DATA on stream 0',
      [frame(FrameType.DATA, 0, 0, Buffer.from('x'))],
      ErrorCode.PROTOCOL_ERROR,
      /stream 0/,
    ],
    ['an even stream id', [headers(2, get)], ErrorCode.PROTOCOL_ERROR, /even stream/],
    [
      'a broken header block',
      [headers(1, Buffer.from([0x80]))],
      ErrorCode.COMPRESSION_ERROR,
      /index 0/,
    ],
    [
      'a frame over 16 KiB',
      [frame(FrameType.DATA, 0, 1, Buffer.alloc(20_000))],
      ErrorCode.FRAME_SIZE_ERROR,
      /over the 16384 allowed/,
    ],
    [
      'a header block interrupted',
      [headers(1, get, 0), frame(FrameType.PING, 0, 0, Buffer.alloc(8))],
      ErrorCode.PROTOCOL_ERROR,
      /interrupted/,
    ],
    [
      'PUSH_PROMISE',
      [frame(FrameType.PUSH_PROMISE, 0, 1, Buffer.alloc(4))],
      ErrorCode.PROTOCOL_ERROR,
      /PUSH_PROMISE/,
    ],
  ];
  for (const [what, frames, code, why] of cases) {
    it(`ends the connection with GOAWAY for ${what}`, async () => {
      const g = goAwayOf(await raw(port, frames));
      assert.equal(g?.code, code);
      assert.match(g.debug, why);
    });
  }

  it('stops reading from a client that does not read its answers, and goes on once it does', async () => {
    let serverSide: Socket | undefined;
    server.once('connection', (s: Socket) => (serverSide = s));
    const client = connect(port, '127.0.0.1');
    await once(client, 'connect');
    client.pause();
    const big = Buffer.alloc(4);
    big.writeUInt32BE(2 ** 31 - 1 - 65_535);
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(4, 0); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(2 ** 31 - 1, 2);
    const post = encodeHeaders([
      [':method', 'POST'],
      [':path', '/echo'],
      [':scheme', 'http'],
    ]);
    const body = Buffer.alloc(16_000, 1);
    const n = 1500;
    const out = [
      PREFACE,
      frame(FrameType.SETTINGS, 0, 0, settings),
      frame(FrameType.WINDOW_UPDATE, 0, 0, big),
    ];
    for (let i = 0; i < n; i++) {
      const id = 2 * i + 1;
      out.push(frame(FrameType.HEADERS, Flag.END_HEADERS, id, post));
      out.push(frame(FrameType.DATA, Flag.END_STREAM, id, body));
    }
    client.write(Buffer.concat(out));
    try {
      await readAll(client, () => serverSide, n);
    } finally {
      client.destroy();
    }
  });

  /** Waits for the server to stop reading, then reads until every stream's answer has ended. */
  async function readAll(client: Socket, serverSide: () => Socket | undefined, n: number) {
    const t0 = Date.now();
    while (serverSide()?.isPaused() !== true) {
      assert.ok(Date.now() - t0 < 5000, 'the server kept reading');
      await new Promise((r) => setTimeout(r, 20));
    }
    // 24 MB of answers wait; reading them, the client gets every one.
    let ended = 0;
    const reader = new FrameReader();
    reader.maxFrameSize = 1 << 24;
    client.on('data', (c: Buffer) => {
      reader.push(c, (f) => {
        if (f.type === FrameType.DATA && f.flags & Flag.END_STREAM) ended++;
      });
    });
    client.resume();
    while (ended < n) {
      assert.ok(Date.now() - t0 < 20_000, `${String(ended)} of ${String(n)} answers`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('refuses a connection that does not start with the preface', async () => {
    const got = await raw(port, [], Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(goAwayOf(got)?.code, ErrorCode.PROTOCOL_ERROR);
  });

  it('resets a stream whose headers are malformed, and keeps the connection', async () => {
    const upper = encodeHeaders([
      [':method', 'GET'],
      [':path', '/'],
      ['X-Upper', '1'],
    ]);
    const got = await raw(port, [headers(1, upper), headers(3, get)]);
    const rst = got.find((f) => f.type === FrameType.RST_STREAM);
    assert.equal(rst?.streamId, 1);
    assert.equal(rst.payload.readUInt32BE(0), ErrorCode.PROTOCOL_ERROR);
    assert.ok(got.some((f) => f.type === FrameType.DATA && f.streamId === 3));
  });
});

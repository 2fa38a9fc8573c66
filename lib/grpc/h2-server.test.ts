/**
 * The node:http2 gRPC server against real @grpc/grpc-js clients (a generic Client's unary and
 * client-stream requests), over TCP and a Unix socket; the cases a grpc-js client cannot produce
 * (a compressed flag without an encoding, an unknown encoding, a non-gRPC request) with
 * node:http2 as the client. grpc-go's client: e2e/cluster/grpc-go-wire.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Client,
  compressionAlgorithms,
  credentials,
  Metadata,
  status,
  type ClientOptions,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { bytesService } from '../testing/bytes-service.ts';
import { H2GrpcServer, type H2Call } from './h2-server.ts';
import { FramedResponse, frameMessage } from './h2-frames.ts';

const same = (b: Buffer): Buffer => b;
const Echo: ServiceDefinition = bytesService(
  ['Echo', 'Fail', 'Hang', 'NotServed', 'Framed'],
  ['Collect'],
);
/** One answer sent to every Framed call as it is. */
const framedAnswer = new FramedResponse(Buffer.from('the same framed answer'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

interface Harness {
  server: H2GrpcServer;
  /** Calls the Hang handler received, still waiting for their answer. */
  hanging: { call: H2Call; answer: (b: Buffer) => void }[];
  lastMetadata: string | undefined;
}

function startServer(): Harness {
  const server = new H2GrpcServer({ maxReceiveMessageLength: 1024 });
  const h: Harness = { server, hanging: [], lastMetadata: undefined };
  server.addService(Echo, {
    Echo: {
      unary: (req, call) => {
        h.lastMetadata = call.header('x-test');
        return Buffer.concat([Buffer.from('echo:'), req as Buffer]);
      },
    },
    Fail: {
      unary: async (req) => {
        await sleep(1);
        const text = (req as Buffer).toString();
        if (text === 'throw') throw new Error('plain failure');
        throw Object.assign(new Error('ignored'), {
          code: status.PERMISSION_DENIED,
          details: `denied: ${text}`,
        });
      },
    },
    Framed: { unary: () => framedAnswer },
    Hang: {
      unary: (_req, call) =>
        new Promise((resolve) => {
          h.hanging.push({ call, answer: resolve });
        }),
    },
    Collect: {
      clientStream: () => {
        const parts: Buffer[] = [];
        return {
          message: (m) => {
            parts.push(m as Buffer);
          },
          end: () => Buffer.from(parts.map((p) => p.toString()).join('|')),
        };
      },
    },
  });
  return h;
}

function unary(
  client: Client,
  name: string,
  body: Buffer | string,
  options: { deadlineMs?: number; metadata?: Metadata } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/test.Echo/${name}`,
      same,
      same,
      Buffer.from(body),
      options.metadata ?? new Metadata(),
      options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs },
      (err: ServiceError | null, res?: Buffer) => {
        if (err) reject(err);
        else resolve(res ?? Buffer.alloc(0));
      },
    );
  });
}

function collect(client: Client, parts: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const call = client.makeClientStreamRequest(
      '/test.Echo/Collect',
      same,
      same,
      (err: ServiceError | null, res?: Buffer) => {
        if (err) reject(err);
        else resolve(res ?? Buffer.alloc(0));
      },
    );
    for (const p of parts) call.write(Buffer.from(p));
    call.end();
  });
}

async function failure(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('the call succeeded');
}

/** A raw HTTP/2 request: the cases a gRPC client never sends. */
async function rawRequest(
  port: number,
  headers: Record<string, string>,
  body: Buffer,
): Promise<IncomingHttpHeaders> {
  const session = connect(`http://127.0.0.1:${String(port)}`);
  try {
    return await new Promise((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': '/test.Echo/Echo',
        'content-type': 'application/grpc',
        te: 'trailers',
        ...headers,
      });
      let got: IncomingHttpHeaders = {};
      req.on('response', (h) => {
        got = { ...h };
      });
      req.on('trailers', (t: IncomingHttpHeaders) => {
        got = { ...got, ...t };
      });
      req.on('data', () => undefined);
      req.on('close', () => {
        resolve(got);
      });
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    session.close();
  }
}

for (const transport of ['tcp', 'unix'] as const) {
  describe(`lib/grpc/h2-server: a grpc-js client over ${transport}`, function () {
    let h: Harness;
    let client: Client;
    let dir: string;
    let port = 0;

    const newClient = (options: ClientOptions = {}) =>
      new Client(
        transport === 'tcp' ? `127.0.0.1:${String(port)}` : `unix:${join(dir, 'sock')}`,
        credentials.createInsecure(),
        options,
      );

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'h2-server-'));
      h = startServer();
      port = await h.server.listen(
        transport === 'tcp' ? { host: '127.0.0.1', port: 0 } : { path: join(dir, 'sock') },
      );
      client = newClient();
    });
    afterEach(async () => {
      client.close();
      await h.server.close(100);
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers a unary call, reading its metadata', async () => {
      const md = new Metadata();
      md.set('x-test', 'hello');
      assert.equal((await unary(client, 'Echo', 'abc', { metadata: md })).toString(), 'echo:abc');
      assert.equal(h.lastMetadata, 'hello');
      const many = await Promise.all(
        Array.from({ length: 50 }, (_, i) => unary(client, 'Echo', String(i))),
      );
      assert.deepEqual(
        many.map((b) => b.toString()),
        Array.from({ length: 50 }, (_, i) => `echo:${String(i)}`),
      );
    });

    it('sends a FramedResponse as it is, to every call that gets it', async () => {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => unary(client, 'Framed', 'x')),
      );
      for (const a of answers) assert.equal(a.toString(), 'the same framed answer');
      assert.equal(framedAnswer.framed.readUInt32BE(1), 'the same framed answer'.length);
    });

    it("sends a handler's failure as its status and message; anything else is UNKNOWN", async () => {
      const e = await failure(unary(client, 'Fail', 'ünïcode 100%'));
      assert.equal(e.code, status.PERMISSION_DENIED);
      assert.equal(e.details, 'denied: ünïcode 100%');
      const plain = await failure(unary(client, 'Fail', 'throw'));
      assert.equal(plain.code, status.UNKNOWN);
      assert.equal(plain.details, 'plain failure');
    });

    it('answers UNIMPLEMENTED (12) for a method it does not serve', async () => {
      for (const name of ['NotServed', 'Nope']) {
        const e = await failure(unary(client, name, 'x'));
        assert.equal(e.code, status.UNIMPLEMENTED);
        assert.match(e.details, new RegExp(`unknown method /test.Echo/${name}`));
      }
    });

    it('refuses a message over the limit with RESOURCE_EXHAUSTED, and keeps serving', async () => {
      const e = await failure(unary(client, 'Echo', Buffer.alloc(4096, 1)));
      assert.equal(e.code, status.RESOURCE_EXHAUSTED);
      assert.match(e.details, /larger than max \(4096 vs\. 1024\)/);
      assert.equal((await unary(client, 'Echo', 'ok')).toString(), 'echo:ok');
    });

    it('cancels a call at its deadline (grpc-timeout) and drops its late answer', async () => {
      const start = Date.now();
      const e = await failure(unary(client, 'Hang', 'x', { deadlineMs: 100 }));
      assert.equal(e.code, status.DEADLINE_EXCEEDED);
      await until(() => h.hanging[0]?.call.cancelled === true);
      const [hung] = h.hanging;
      assert.ok(hung);
      // The server read grpc-timeout: its deadline is about 100 ms after the call began. Which
      // timer fired first (the client's reset or the server's own) depends on the machine's load,
      // so the cancellation may come a little before the server's deadline.
      assert.ok(hung.call.deadline > start, `deadline ${String(hung.call.deadline)} before start`);
      assert.ok(
        hung.call.deadline <= Date.now() + 100,
        `deadline ${String(hung.call.deadline)} too late`,
      );
      hung.answer(Buffer.from('late'));
      await until(() => h.server.inFlight === 0);
      assert.equal((await unary(client, 'Echo', 'after')).toString(), 'echo:after');
    });

    it('tells the handler when the client cancels', async () => {
      const call = client.makeUnaryRequest(
        '/test.Echo/Hang',
        same,
        same,
        Buffer.from('x'),
        () => undefined,
      );
      await until(() => h.hanging.length === 1);
      let told = false;
      h.hanging[0]?.call.onCancel(() => {
        told = true;
      });
      call.cancel();
      await until(() => told);
      await until(() => h.server.inFlight === 0);
    });

    it('reads a client stream in order and answers once it ends', async () => {
      assert.equal((await collect(client, ['a', 'b', 'c'])).toString(), 'a|b|c');
      assert.equal((await collect(client, [])).toString(), '');
      const big = await failure(collect(client, ['a', 'x'.repeat(2000)]));
      assert.equal(big.code, status.RESOURCE_EXHAUSTED);
    });

    it('reads gzip and deflate compressed requests', async () => {
      for (const algorithm of [compressionAlgorithms.deflate, compressionAlgorithms.gzip]) {
        const c = newClient({ 'grpc.default_compression_algorithm': algorithm });
        try {
          const body = 'compress me '.repeat(20);
          assert.equal((await unary(c, 'Echo', body)).toString(), `echo:${body}`);
        } finally {
          c.close();
        }
      }
    });

    it('closes gracefully: calls in flight finish, new calls are refused, the rest cut after the grace', async () => {
      const inFlight = unary(client, 'Hang', 'x');
      await until(() => h.hanging.length === 1);
      const closed = h.server.close(5000);
      await sleep(50);
      const refused = await failure(unary(newClient(), 'Echo', 'new'));
      assert.equal(refused.code, status.UNAVAILABLE);
      h.hanging[0]?.answer(Buffer.from('finished'));
      assert.equal((await inFlight).toString(), 'finished');
      await closed;

      const h2 = startServer();
      const p2 = await h2.server.listen({ host: '127.0.0.1', port: 0 });
      const c2 = new Client(`127.0.0.1:${String(p2)}`, credentials.createInsecure());
      const cut = failure(unary(c2, 'Hang', 'x'));
      await until(() => h2.hanging.length === 1);
      const t0 = Date.now();
      await h2.server.close(100);
      assert.ok(Date.now() - t0 < 2000);
      assert.equal((await cut).code, status.UNAVAILABLE);
      assert.equal(h2.hanging[0]?.call.cancelled, true);
      c2.close();
    });
  });
}

describe('lib/grpc/h2-server: what a gRPC client does not send', () => {
  let h: Harness;
  let port: number;
  before(async () => {
    h = startServer();
    port = await h.server.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => h.server.close(100));

  it('answers a compressed flag without grpc-encoding with INTERNAL', async () => {
    const body = frameMessage(Buffer.from('x'));
    body[0] = 1;
    const r = await rawRequest(port, {}, body);
    assert.equal(r['grpc-status'], String(status.INTERNAL));
    assert.match(String(r['grpc-message']), /compressed flag/);
  });

  it('answers an encoding it cannot read with UNIMPLEMENTED and the ones it can', async () => {
    const r = await rawRequest(port, { 'grpc-encoding': 'snappy' }, frameMessage(Buffer.from('x')));
    assert.equal(r['grpc-status'], String(status.UNIMPLEMENTED));
    assert.equal(r['grpc-accept-encoding'], 'identity,deflate,gzip');
  });

  it('answers a request that is not gRPC with HTTP 415, a malformed grpc-timeout with INTERNAL', async () => {
    const r = await rawRequest(port, { 'content-type': 'application/json' }, Buffer.from('{}'));
    assert.equal(r[':status'], 415);
    const t = await rawRequest(port, { 'grpc-timeout': '10x' }, frameMessage(Buffer.from('x')));
    assert.equal(t['grpc-status'], String(status.INTERNAL));
  });

  it('ends a call whose deadline passes first on its side with DEADLINE_EXCEEDED, not a reset', async () => {
    const started = Date.now();
    const r = await rawRequest(
      port,
      { ':path': '/test.Echo/Hang', 'grpc-timeout': '50m' },
      frameMessage(Buffer.from('x')),
    );
    assert.equal(r['grpc-status'], String(status.DEADLINE_EXCEEDED));
    assert.ok(Date.now() - started >= 45);
  });

  it('reads a message split across DATA frames, and two messages in one unary call is INTERNAL', async () => {
    const msg = frameMessage(Buffer.from('split'));
    const session = connect(`http://127.0.0.1:${String(port)}`);
    const got = await new Promise<string>((resolve) => {
      const req = session.request({
        ':method': 'POST',
        ':path': '/test.Echo/Echo',
        'content-type': 'application/grpc',
      });
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('close', () => {
        resolve(Buffer.concat(chunks).subarray(5).toString());
      });
      req.write(msg.subarray(0, 3));
      setTimeout(() => req.end(msg.subarray(3)), 20);
    });
    session.close();
    assert.equal(got, 'echo:split');
    const two = await rawRequest(port, {}, Buffer.concat([msg, msg]));
    assert.equal(two['grpc-status'], String(status.INTERNAL));
  });
});

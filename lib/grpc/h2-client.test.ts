/**
 * The lib/h2 unary gRPC client against real servers: @grpc/grpc-js's (the reference: metadata,
 * statuses, a gzip response, a large response across windows, a server's shutdown and a new
 * connection after it) and our lib/h2 server, over TCP and a Unix socket; and what no server
 * gives willingly: nothing listening, a deadline, a server that stops answering.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import { createServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Server,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type sendUnaryData,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { bytesService } from '../testing/bytes-service.ts';
import { GrpcCallError, H2GrpcClient } from './h2-client.ts';
import { frameMessage } from './h2-frames.ts';
import { H2GrpcServer } from './h2-server.ts';

const Echo: ServiceDefinition = bytesService(['Echo', 'Fail', 'Big']);

type Unary = ServerUnaryCall<Buffer, Buffer>;

async function grpcJsServer(
  options: Record<string, number> = {},
): Promise<{ server: Server; port: number }> {
  const server = new Server(options);
  server.addService(Echo, {
    Echo: (call: Unary, cb: sendUnaryData<Buffer>) => {
      const trace = call.metadata.get('x-trace')[0];
      cb(null, Buffer.concat([Buffer.from(`echo(${String(trace ?? '')}):`), call.request]));
    },
    Fail: (call: Unary, cb: sendUnaryData<Buffer>) => {
      cb({ code: status.PERMISSION_DENIED, details: `denied: ${call.request.toString()}` });
    },
    Big: (call: Unary, cb: sendUnaryData<Buffer>) => {
      cb(null, Buffer.alloc(Number(call.request.toString()), 7));
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => {
      if (e) reject(e);
      else resolve(p);
    });
  });
  return { server, port };
}

const rejectsWith = (p: Promise<unknown>, code: number, re: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof GrpcCallError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.details, re);
    return true;
  });

describe('H2GrpcClient (unary gRPC on lib/h2)', () => {
  describe('against a @grpc/grpc-js server', () => {
    let s: { server: Server; port: number };
    let client: H2GrpcClient;
    before(async () => {
      s = await grpcJsServer();
      client = new H2GrpcClient(`127.0.0.1:${String(s.port)}`);
    });
    after(() => {
      client.close();
      s.server.forceShutdown();
    });

    it('calls with metadata and reads the answers, many at once on one connection', async () => {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          client.unary('/test.Echo/Echo', Buffer.from(`m${String(i)}`), {
            deadlineMs: 5000,
            metadata: [['x-trace', 't1']],
          }),
        ),
      );
      assert.deepEqual(
        answers.map((b) => b.toString()),
        Array.from({ length: 50 }, (_, i) => `echo(t1):m${String(i)}`),
      );
    });

    it("reads the server's status and message", async () => {
      await rejectsWith(
        client.unary('/test.Echo/Fail', Buffer.from('you')),
        status.PERMISSION_DENIED,
        /^denied: you$/,
      );
      await rejectsWith(
        client.unary('/test.Echo/None', Buffer.from('x')),
        status.UNIMPLEMENTED,
        /./,
      );
    });

    it('reads a response larger than its windows (3 MiB in 16 KiB frames)', async () => {
      const big = await client.unary('/test.Echo/Big', Buffer.from(String(3 << 20)));
      assert.equal(big.length, 3 << 20);
      assert.ok(big.every((b) => b === 7));
    });

    it('refuses a response over its limit, naming the sizes', async () => {
      const small = new H2GrpcClient(`127.0.0.1:${String(s.port)}`, {
        maxReceiveMessageLength: 1000,
      });
      try {
        await rejectsWith(
          small.unary('/test.Echo/Big', Buffer.from('5000')),
          status.RESOURCE_EXHAUSTED,
          /over the 1000 allowed/,
        );
      } finally {
        small.close();
      }
    });

    it('connects again after the server went away', async () => {
      const first = await grpcJsServer();
      const c = new H2GrpcClient(`127.0.0.1:${String(first.port)}`);
      try {
        assert.match((await c.unary('/test.Echo/Echo', Buffer.from('a'))).toString(), /:a$/);
        await new Promise<void>((r) => {
          first.server.tryShutdown(() => {
            r();
          });
        });
        await rejectsWith(
          c.unary('/test.Echo/Echo', Buffer.from('b')),
          status.UNAVAILABLE,
          /cannot reach|closed/,
        );
        // A new server on the same port: the next call opens a new connection.
        const again = new Server();
        again.addService(Echo, {
          Echo: (call: Unary, cb: sendUnaryData<Buffer>) => {
            cb(null, Buffer.concat([Buffer.from('again:'), call.request]));
          },
        });
        await new Promise<void>((resolve, reject) => {
          again.bindAsync(
            `127.0.0.1:${String(first.port)}`,
            ServerCredentials.createInsecure(),
            (e) => {
              if (e) reject(e);
              else resolve();
            },
          );
        });
        try {
          assert.equal((await c.unary('/test.Echo/Echo', Buffer.from('c'))).toString(), 'again:c');
        } finally {
          again.forceShutdown();
        }
      } finally {
        c.close();
      }
    });
  });

  describe('against the lib/h2 server, on a Unix socket', () => {
    const dir = mkdtempSync(join(tmpdir(), 'h2-client-'));
    const server = new H2GrpcServer();
    let release: (() => void) | undefined;
    let client: H2GrpcClient;
    before(async () => {
      server.addService(Echo, {
        Echo: {
          unary: (req, call) =>
            Buffer.concat([Buffer.from(`${call.header('x-trace') ?? ''}:`), req as Buffer]),
        },
        Fail: {
          unary: () =>
            new Promise((resolve) => {
              release = () => {
                resolve(Buffer.from('late'));
              };
            }),
        },
      });
      await server.listen({ path: join(dir, 'sock') });
      client = new H2GrpcClient(`unix:${join(dir, 'sock')}`);
    });
    after(async () => {
      client.close();
      await server.close(0);
      rmSync(dir, { recursive: true, force: true });
    });

    it('calls with metadata', async () => {
      const b = await client.unary('/test.Echo/Echo', Buffer.from('x'), {
        metadata: [['x-trace', 'abc']],
      });
      assert.equal(b.toString(), 'abc:x');
    });

    it('gives up at the deadline (DEADLINE_EXCEEDED) and the connection serves the next call', async () => {
      await rejectsWith(
        client.unary('/test.Echo/Fail', Buffer.from('x'), { deadlineMs: 50 }),
        status.DEADLINE_EXCEEDED,
        /no answer within 50 ms/,
      );
      release?.();
      assert.equal((await client.unary('/test.Echo/Echo', Buffer.from('y'))).toString(), ':y');
    });
  });

  describe('against node:http2 answering what gRPC servers rarely do', () => {
    let server: Http2Server;
    let client: H2GrpcClient;
    before(async () => {
      server = createHttp2Server((req, res) => {
        const path = req.url;
        if (path === '/test.Echo/Gzip' || path === '/test.Echo/Bomb') {
          // Bomb: 4 KiB that inflate to 8 MiB, past the 4 MiB a client accepts by default.
          const plain =
            path === '/test.Echo/Gzip' ? Buffer.from('zipped answer') : Buffer.alloc(8 << 20);
          const body = frameMessage(gzipSync(plain));
          body[0] = 1;
          res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-encoding': 'gzip' });
          res.addTrailers({ 'grpc-status': '0' });
          res.end(body);
        } else if (path === '/test.Echo/TrailersOnly') {
          res.writeHead(200, {
            'content-type': 'application/grpc',
            'grpc-status': String(status.NOT_FOUND),
            'grpc-message': 'no%20such%20thing',
          });
          res.end();
        } else {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('overloaded');
        }
      });
      const port = await new Promise<number>((r) => {
        server.listen(0, '127.0.0.1', () => {
          const a = server.address();
          r(typeof a === 'object' && a !== null ? a.port : 0);
        });
      });
      client = new H2GrpcClient(`127.0.0.1:${String(port)}`);
    });
    after(async () => {
      client.close();
      await new Promise((r) => server.close(r));
    });

    it('reads a gzip-compressed answer, and refuses one that inflates past its limit', async () => {
      const b = await client.unary('/test.Echo/Gzip', Buffer.from('x'));
      assert.equal(b.toString(), 'zipped answer');
      await rejectsWith(
        client.unary('/test.Echo/Bomb', Buffer.from('x')),
        status.RESOURCE_EXHAUSTED,
        /decompressing to over the 4194304 bytes allowed/,
      );
    });

    it('reads a Trailers-Only status and maps an HTTP 503 to UNAVAILABLE', async () => {
      await rejectsWith(
        client.unary('/test.Echo/TrailersOnly', Buffer.from('x')),
        status.NOT_FOUND,
        /^no such thing$/,
      );
      await rejectsWith(
        client.unary('/test.Echo/Other', Buffer.from('x')),
        status.UNAVAILABLE,
        /HTTP status 503/,
      );
    });
  });

  it('names the target it cannot reach (UNAVAILABLE)', async () => {
    const probe = createServer();
    const port = await new Promise<number>((r) => {
      probe.listen(0, '127.0.0.1', () => {
        const a = probe.address();
        r(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
    await new Promise((r) => probe.close(r));
    const c = new H2GrpcClient(`127.0.0.1:${String(port)}`);
    try {
      await rejectsWith(
        c.unary('/test.Echo/Echo', Buffer.from('x')),
        status.UNAVAILABLE,
        new RegExp(`cannot reach 127.0.0.1:${String(port)}: .*ECONNREFUSED`),
      );
    } finally {
      c.close();
    }
  });

  it('refuses a target it cannot read', () => {
    assert.throws(() => new H2GrpcClient('no-port'), /not host:port or unix:PATH: no-port/);
  });
});

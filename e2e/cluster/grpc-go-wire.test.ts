/**
 * Wire compatibility of the HTTP/2 gRPC servers (lib/grpc/h2-server.ts on lib/h2) with grpc-go, the
 * gRPC implementation of Go peers (Envoy's own client is C++ and not installed here): the built
 * grpc-go client (e2e/grpc-go-client, in .cache/bin) against
 * - the agent's MIXER socket (a Unix socket): ext_authz Check allowed and denied, an ALS stream
 *   reaching Mixer as a Report, INVALID_ARGUMENT for bytes that are no CheckRequest, UNIMPLEMENTED;
 * - Mixer's gRPC port: Mixer v1 Check (the same answer a grpc-js client gets), ext_authz Check,
 *   an ALS stream, INVALID_ARGUMENT for a malformed Report;
 * - the server itself: metadata, the deadline, a message over the limit, and the benches' raw
 *   load (the client's -raw: HTTP/2 frames written directly) answered and counted.
 * Agent and Mixer run in-process with the mixer/examples config (reviews v1 and v2 whitelisted).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { checkRequest, httpLogMessage } from '../../agent/testing/envoy-mixer-client.ts';
import { loadAgentProtos } from '../../agent/testing/envoy-protos.ts';
import { startMixerAgent } from '../../agent/testing/mixer-agent.ts';
import type { RunningAgent } from '../../agent/run.ts';
import { H2GrpcServer, type H2Call } from '../../lib/grpc/h2-server.ts';
import { findBinary } from '../../lib/local-cluster/binaries.ts';
import { compress, compressReport } from '../../lib/mixer/compress.ts';
import { globalWordCount } from '../../lib/mixer/global-dictionary.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import { decodeMessage, encodeMessage } from '../../lib/xds/protos.ts';
import { reviewsToRatings } from '../../mixer/testing/attribute-bags.ts';
import { startTestMixer, type TestMixer } from '../../mixer/testing/server.ts';
import { eventually } from './eventually.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

interface GoResult {
  readonly code: number;
  readonly message: string;
  readonly response: Buffer;
}

/** One call with the grpc-go client: request messages as bytes, the status and response back. */
function goCall(
  target: string,
  method: string,
  messages: readonly Uint8Array[],
  options: { stream?: boolean; timeout?: string; metadata?: string } = {},
): Promise<GoResult> {
  const binary = findBinary('grpc-go-client');
  if (binary === undefined) throw new Error('grpc-go-client is not built');
  const args = ['-target', target, '-method', method];
  if (options.stream === true) args.push('-stream');
  if (options.timeout !== undefined) args.push('-timeout', options.timeout);
  if (options.metadata !== undefined) args.push('-metadata', options.metadata);
  return new Promise((resolve, reject) => {
    const child = execFile(binary, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`grpc-go-client failed: ${stderr}`, { cause: err }));
        return;
      }
      const r = JSON.parse(stdout) as { code: number; message: string; response: string };
      resolve({ code: r.code, message: r.message, response: Buffer.from(r.response, 'hex') });
    });
    child.stdin?.end(messages.map((m) => `${Buffer.from(m).toString('hex')}\n`).join(''));
  });
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (typeof v === 'object' && v !== null ? (v as Rec) : {});

function authzAnswer(bytes: Buffer): { code: number; http: unknown } {
  const o = rec(decodeMessage('envoy.service.auth.v3.CheckResponse', bytes));
  return {
    code: Number(rec(o['status'])['code'] ?? 0),
    http: rec(rec(o['denied_response'])['status'])['code'],
  };
}

const authzCheck = '/envoy.service.auth.v3.Authorization/Check';
const als = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

/** reviews <version> calling ratings, as a sidecar's ext_authz filter asks. */
function reviewsCalls(version: string): Uint8Array {
  return checkRequest({
    path: '/ratings/0',
    host: 'ratings:9080',
    context: {
      'source.labels.app': 'reviews',
      'source.labels.version': version,
      'destination.labels.app': 'ratings',
      'destination.service': 'ratings.default.svc.cluster.local',
    },
  });
}

function metric(text: string, name: string, labels: string): number {
  const re = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? 0);
}

describe('grpc-go against the lib/h2 gRPC servers', function () {
  this.timeout(60_000);
  let root: string;
  let mixer: TestMixer;
  let agent: RunningAgent;
  let mixerSocket: string;

  before(async () => {
    loadAgentProtos();
    root = mkdtempSync(join(tmpdir(), 'grpc-go-wire-'));
    mixer = await startTestMixer();
    ({ agent, socket: mixerSocket } = await startMixerAgent({
      dir: root,
      logger,
      flags: { mixerAddress: mixer.address },
      reportDelayMs: 50,
    }));
  });

  after(async () => {
    await agent.shutdown('test over');
    await mixer.close();
    rmSync(root, { recursive: true, force: true });
  });

  describe("the agent's MIXER socket", () => {
    it('answers ext_authz Check: reviews v2 allowed, v3 denied with 403 (not whitelisted)', async () => {
      const ok = await goCall(mixerSocket, authzCheck, [reviewsCalls('v2')]);
      assert.equal(ok.code, 0, ok.message);
      assert.equal(authzAnswer(ok.response).code, 0);
      const denied = await goCall(mixerSocket, authzCheck, [reviewsCalls('v3')]);
      assert.equal(denied.code, 0, 'a denial is an answer, not a gRPC error');
      assert.deepEqual(authzAnswer(denied.response), { code: 5, http: 'Forbidden' });
    });

    it('takes an ALS stream of two messages and reports its entries to Mixer', async () => {
      const before = metric(
        await mixer.scrape(),
        'mixer_report_attribute_sets_total',
        '{api="mixer"}',
      );
      const msgs = [httpLogMessage(3, 0), httpLogMessage(2, 3, false)].map((m) =>
        encodeMessage('envoy.service.accesslog.v3.StreamAccessLogsMessage', m),
      );
      const r = await goCall(mixerSocket, als, msgs, { stream: true });
      assert.equal(r.code, 0, r.message);
      await eventually(async () => {
        const now = metric(
          await mixer.scrape(),
          'mixer_report_attribute_sets_total',
          '{api="mixer"}',
        );
        assert.equal(now - before, 5);
      });
    });

    it('answers bytes that are no CheckRequest with INVALID_ARGUMENT, an unknown method with UNIMPLEMENTED', async () => {
      const bad = await goCall(mixerSocket, authzCheck, [Buffer.from([0x0a, 0xff])]);
      assert.equal(bad.code, 3);
      assert.match(bad.message, /^CheckRequest: /);
      const none = await goCall(mixerSocket, '/envoy.service.auth.v3.Authorization/Nope', [
        Buffer.from([0x08, 0x01]),
      ]);
      assert.equal(none.code, 12);
    });
  });

  describe("Mixer's gRPC port", () => {
    const v1 = () => {
      const s = mixerService();
      const check = s['Check'];
      const report = s['Report'];
      if (!check || !report) throw new Error('no Mixer v1 methods');
      return { check, report };
    };

    it('answers Mixer v1 Check as it answers grpc-js: allowed, not whitelisted', async () => {
      const { check } = v1();
      for (const [version, code] of [
        ['v2', 0],
        ['v3', 5],
        ['v4', 5],
      ] as const) {
        const request = {
          attributes: compress(reviewsToRatings(version)),
          global_word_count: globalWordCount,
          deduplication_id: '',
        };
        const r = await goCall(mixer.address, '/istio.mixer.v1.Mixer/Check', [
          check.requestSerialize(request),
        ]);
        assert.equal(r.code, 0, r.message);
        const fromGo = rec(rec(check.responseDeserialize(r.response))['precondition']);
        const fromJs = rec(rec(await mixer.mixer('Check', request))['precondition']);
        assert.equal(Number(rec(fromGo['status'])['code'] ?? 0), code, `reviews ${version}`);
        assert.deepEqual(fromGo, fromJs);
      }
    });

    it('answers ext_authz Check and takes an ALS stream', async () => {
      const denied = await goCall(mixer.address, authzCheck, [reviewsCalls('v3')]);
      assert.equal(denied.code, 0, denied.message);
      assert.deepEqual(authzAnswer(denied.response), { code: 5, http: 'Forbidden' });
      const before = metric(
        await mixer.scrape(),
        'mixer_report_attribute_sets_total',
        '{api="als"}',
      );
      const r = await goCall(
        mixer.address,
        als,
        [encodeMessage('envoy.service.accesslog.v3.StreamAccessLogsMessage', httpLogMessage(4))],
        { stream: true },
      );
      assert.equal(r.code, 0, r.message);
      const after = metric(
        await mixer.scrape(),
        'mixer_report_attribute_sets_total',
        '{api="als"}',
      );
      assert.equal(after - before, 4);
    });

    it('answers a malformed Report with INVALID_ARGUMENT naming the problem', async () => {
      const { report } = v1();
      const [good] = compressReport([reviewsToRatings('v2')]);
      const bytes = Buffer.from(report.requestSerialize(good));
      const r = await goCall(mixer.address, '/istio.mixer.v1.Mixer/Report', [
        Buffer.concat([bytes, Buffer.from([0x0a, 0xff])]),
      ]);
      assert.equal(r.code, 3, r.message);
      assert.notEqual(r.message, '');
    });
  });

  describe('lib/grpc/h2-server itself', () => {
    let server: H2GrpcServer;
    let target: string;
    const seen: H2Call[] = [];
    const same = (b: Buffer) => b;
    const def = (name: string) => ({
      path: `/test.Echo/${name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: same,
      requestDeserialize: same,
      responseSerialize: same,
      responseDeserialize: same,
      originalName: name,
    });

    before(async () => {
      server = new H2GrpcServer({ maxReceiveMessageLength: 1024 });
      server.addService(
        { Echo: def('Echo'), Hang: def('Hang') },
        {
          Echo: {
            unary: (req, call) => Buffer.from(`${String(call.header('x-who'))}:${String(req)}`),
          },
          Hang: {
            unary: (_req, call) => {
              seen.push(call);
              return new Promise(() => undefined);
            },
          },
        },
      );
      target = `127.0.0.1:${String(await server.listen({ host: '127.0.0.1', port: 0 }))}`;
    });
    after(() => server.close(100));

    it('reads grpc-go metadata and answers', async () => {
      const r = await goCall(target, '/test.Echo/Echo', [Buffer.from('hi')], {
        metadata: 'x-who=go',
      });
      assert.deepEqual([r.code, r.response.toString()], [0, 'go:hi']);
    });

    it("cancels at grpc-go's deadline; refuses a message over the limit with RESOURCE_EXHAUSTED", async () => {
      const late = await goCall(target, '/test.Echo/Hang', [Buffer.from('x')], {
        timeout: '200ms',
      });
      assert.equal(late.code, 4);
      await eventually(() => {
        assert.equal(seen[0]?.cancelled, true);
        assert.equal(server.inFlight, 0);
      });
      const big = await goCall(target, '/test.Echo/Echo', [Buffer.alloc(5000, 1)]);
      assert.equal(big.code, 8);
      assert.match(big.message, /larger than max/);
    });

    it("the benches' raw load (-raw): open and closed loop, every call answered, refused ones counted as errors, a warm-up not counted", async () => {
      const binary = findBinary('grpc-go-client');
      if (binary === undefined) throw new Error('grpc-go-client is not built');
      const run = (args: string[]) =>
        new Promise<{ code: number; out: string; err: string }>((resolve) => {
          const child = execFile(binary, args, (err, stdout, stderr) => {
            resolve({ code: err === null ? 0 : Number(err.code), out: stdout, err: stderr });
          });
          // Cycled: an Echo that is answered, then one over the 1,024-byte limit.
          child.stdin?.end(`${Buffer.from('hi').toString('hex')}\n${'01'.repeat(5000)}\n`);
        });
      const base = ['-target', target, '-method', '/test.Echo/Echo', '-raw'];
      const counted = (r: { code: number; out: string; err: string }) => {
        assert.equal(r.code, 0, r.err);
        const o = JSON.parse(r.out) as Record<string, unknown>;
        assert.equal(Number(o['errors']), Math.floor(Number(o['calls']) / 2), r.out);
        assert.match(String(o['firstError']), /grpc-status 8: .*larger than max/);
        assert.ok(Number(o['p50']) > 0, r.out);
        return o;
      };
      const open = counted(
        await run([...base, '-load', '-rate', '2000', '-duration', '500ms', '-warmup', '0']),
      );
      assert.equal(open['warmupCalls'], undefined);
      assert.ok(
        Number(open['calls']) >= 900 && Number(open['calls']) <= 1001,
        String(open['calls']),
      );
      assert.ok(Number(open['perSecond']) > 800, String(open['perSecond']));
      // The warm-up: the same load on the same connection first, answered and not counted.
      const warmed = counted(
        await run([...base, '-load', '-rate', '2000', '-duration', '500ms', '-warmup', '300ms']),
      );
      assert.ok(
        Number(warmed['warmupCalls']) >= 500 && Number(warmed['warmupCalls']) <= 601,
        String(warmed['warmupCalls']),
      );
      assert.ok(
        Number(warmed['calls']) >= 900 && Number(warmed['calls']) <= 1001,
        warmed['calls'] as string,
      );
      const closed = counted(
        await run([...base, '-load', '-concurrency', '4', '-duration', '300ms', '-warmup', '0']),
      );
      assert.ok(Number(closed['calls']) > 100, String(closed['calls']));
      const notLoad = await run(base);
      assert.equal(notLoad.code, 2);
      assert.match(notLoad.err, /-raw is a load: it needs -load/);
    });
  });
});
